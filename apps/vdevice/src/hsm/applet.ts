/**
 * The SmartCard-HSM applet (AID E8 2B 06 01 04 01 81 C3 1F 02 01), plugged
 * into the card runtime. SELECT by AID returns the FCP and is the logout: it
 * clears the session and locks the keystore's MKEK.
 */
import type { Applet, AppletResponse, CommandApdu } from "@hsmkit/apdu";
import { encodeTlv } from "@hsmkit/tlv";
import { HSM_AID, VERSION_MAJOR, VERSION_MINOR } from "./constants.ts";
import type { HsmState } from "./context.ts";
import { dispatch } from "./dispatcher.ts";

/** Third-last byte of FCP tag 85: OpenSC names the card "SmartCard-HSM" for FF. */
const APPLET_TYPE = 0xff;

export class HsmApplet implements Applet {
  readonly aid = HSM_AID;

  constructor(readonly state: HsmState) {}

  select(_command: CommandApdu): AppletResponse {
    this.endSession();
    return { data: this.selectFcp() };
  }

  deselect(): void {
    this.endSession();
  }

  process(command: CommandApdu): Promise<AppletResponse> {
    return dispatch(this.state, command);
  }

  /**
   * Returns the FCP of the applet: 62 { 81 size 0, 82 01, 83 0000, 84 AID,
   * 8A 05, 85 options(2) FF version(2) }. OpenSC reads the options from the
   * first two bytes of tag 85 and the version from its last two.
   */
  selectFcp(): Uint8Array {
    const options = this.state.device.options;
    return encodeTlv(0x62, [
      encodeTlv(0x81, new Uint8Array([0x00, 0x00])),
      encodeTlv(0x82, new Uint8Array([0x01])),
      encodeTlv(0x83, new Uint8Array([0x00, 0x00])),
      encodeTlv(0x84, HSM_AID),
      encodeTlv(0x8a, new Uint8Array([0x05])),
      encodeTlv(0x85, new Uint8Array([options >> 8, options & 0xff, APPLET_TYPE, VERSION_MAJOR, VERSION_MINOR])),
    ]);
  }

  /** Clears the session: flags, the MKEK and the secure-lock secret of EXTRAS 3A unlock. */
  private endSession(): void {
    this.state.session.reset();
    this.state.keystore.setLockSecret(undefined);
    this.state.keystore.lock();
  }
}
