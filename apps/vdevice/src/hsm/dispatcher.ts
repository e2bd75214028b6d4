/**
 * INS dispatcher of the HSM applet: finds the handler, runs it inside a
 * storage transaction and turns its outcome into a response.
 */
import { CardError, SW, type AppletResponse, type CommandApdu } from "@hsmkit/apdu";
import { TlvError } from "@hsmkit/tlv";
import { bipSlip } from "../commands/bip-slip.ts";
import { changeReferenceData } from "../commands/change-reference-data.ts";
import { cipherSymmetric } from "../commands/cipher-symmetric.ts";
import { decipher } from "../commands/decipher.ts";
import { deleteFile } from "../commands/delete-file.ts";
import { deriveAsymmetricKey } from "../commands/derive-asymmetric-key.ts";
import { enumerateObjects } from "../commands/enumerate-objects.ts";
import { externalAuthenticate } from "../commands/external-authenticate.ts";
import { extras } from "../commands/extras.ts";
import { generateAsymmetricKeyPair } from "../commands/generate-asymmetric-key-pair.ts";
import { generateSessionPin } from "../commands/generate-session-pin.ts";
import { generalAuthenticate } from "../commands/general-authenticate.ts";
import { generateSymmetricKey } from "../commands/generate-symmetric-key.ts";
import { getChallenge } from "../commands/get-challenge.ts";
import { importDkekShare } from "../commands/import-dkek-share.ts";
import { initialize } from "../commands/initialize.ts";
import { manageSecurityEnvironment } from "../commands/manage-security-environment.ts";
import { performSecurityOperation } from "../commands/perform-security-operation.ts";
import { pukAuth } from "../commands/puk-auth.ts";
import { readBinary } from "../commands/read-binary.ts";
import { resetRetryCounter } from "../commands/reset-retry-counter.ts";
import { select } from "../commands/select.ts";
import { signature } from "../commands/signature.ts";
import { updateBinary } from "../commands/update-binary.ts";
import { unwrapKey } from "../commands/unwrap-key.ts";
import { verify } from "../commands/verify.ts";
import { wrapKey } from "../commands/wrap-key.ts";
import { CommandContext, type CommandHandler, type HsmState } from "./context.ts";

/** Handlers by INS. An INS not listed returns 6D00; 5A (session PIN) does too unless device option 0004 is set. */
export const COMMANDS: ReadonlyMap<number, CommandHandler> = new Map<number, CommandHandler>([
  [0x20, verify],
  [0x22, manageSecurityEnvironment],
  [0x24, changeReferenceData],
  [0x2a, performSecurityOperation],
  [0x2c, resetRetryCounter],
  [0x46, generateAsymmetricKeyPair],
  [0x48, generateSymmetricKey],
  [0x4a, bipSlip],
  [0x50, initialize],
  [0x52, importDkekShare],
  [0x54, pukAuth],
  [0x58, enumerateObjects],
  [0x5a, generateSessionPin],
  [0x62, decipher],
  [0x64, extras],
  [0x68, signature],
  [0x72, wrapKey],
  [0x74, unwrapKey],
  [0x76, deriveAsymmetricKey],
  [0x78, cipherSymmetric],
  [0x82, externalAuthenticate],
  [0x84, getChallenge],
  [0x86, generalAuthenticate],
  [0xa4, select],
  [0xb0, readBinary],
  [0xb1, readBinary],
  [0xd7, updateBinary],
  [0xe4, deleteFile],
]);

/**
 * Runs the handler for `apdu.ins`. Its staged writes are committed when it
 * returns and rolled back when it throws. A TlvError escaping a handler means
 * malformed command data and returns 6700, as the firmware does for bad TLVs.
 */
export async function dispatch(state: HsmState, apdu: CommandApdu): Promise<AppletResponse> {
  const handler = COMMANDS.get(apdu.ins);
  if (!handler) throw new CardError(SW.INS_NOT_SUPPORTED, `INS ${hexByte(apdu.ins)} is not supported`);

  const context = new CommandContext(apdu, state);
  let response: AppletResponse;
  try {
    response = (await handler(context)) ?? {};
  } catch (error) {
    state.keystore.rollback();
    state.device.discardStaged();
    if (error instanceof TlvError) throw new CardError(SW.WRONG_LENGTH, `malformed TLV in the command data: ${error.message}`);
    throw error;
  }

  try {
    await state.keystore.commit();
  } catch (error) {
    state.keystore.rollback();
    state.device.discardStaged();
    state.logger.error("storage commit failed", { ins: hexByte(apdu.ins), error: String(error) });
    throw new CardError(SW.MEMORY_FAILURE, "storage write failed");
  }
  state.device.commitStaged();

  return response;
}

function hexByte(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
