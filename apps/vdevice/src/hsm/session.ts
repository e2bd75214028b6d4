/**
 * Volatile security state of the HSM applet. Everything here is reset by a
 * SELECT of the applet (OpenSC's and pypicohsm's logout) and by INITIALIZE.
 */
import { wipePendingNode, type PendingHdNode } from "../hd/pending-node.ts";
import { PkaSession } from "../policy/pka.ts";
import { SessionPin } from "../policy/session-pin.ts";
import { SecureMessagingSession } from "../sm/secure-messaging-session.ts";

export class SessionState {
  /** UA: the user is authenticated (PIN verified, or INITIALIZE). */
  userAuthenticated = false;

  /** PS: the user PIN was verified; the keystore's MKEK is unlocked through it. */
  userPinSession = false;

  /** SS: the SO-PIN was verified; the keystore's MKEK is unlocked through it. */
  soPinSession = false;

  /** FID of the current EF (set by SELECT and by the UPDATE create form), or undefined. */
  currentEf: number | undefined = undefined;

  /** Random bytes of the last GET CHALLENGE of at most 256 bytes (the pending PKA challenge). */
  challenge: Uint8Array | undefined = undefined;

  /** HD node loaded by BIP/SLIP P1 = 10 for one SIGNATURE A0 or HD CIPHER (hd/pending-node.ts). */
  hdNode: PendingHdNode | undefined = undefined;

  /** Secure messaging: the protocol MSE SET AT selected and the channel GENERAL AUTHENTICATE opened. */
  readonly secureMessaging = new SecureMessagingSession();

  /** CHR of the trust-store certificate MSE SET DST selected as issuer for PSO VERIFY CERTIFICATE. */
  verificationIssuer: string | undefined = undefined;

  /** Public key authentication: selected PUK, authenticated PUKs, quorum. */
  readonly pka = new PkaSession();

  /** Session PIN and the user PIN it stands for; reset() keeps it, only a card reset or power-off clears it. */
  readonly sessionPin = new SessionPin();

  /** Secure lock (EXTRAS 3A): unlocked with the host secret in this session. */
  secureLockOpen = false;

  /** PS or SS: a stored secret can be unsealed. */
  get hasPinSession(): boolean {
    return this.userPinSession || this.soPinSession;
  }

  /** Closes both PIN sessions and UA (the start of every PIN check; with PKA configured the caller restores UA). */
  clearPinSessions(): void {
    this.userPinSession = false;
    this.soPinSession = false;
    this.userAuthenticated = false;
    this.sessionPin.forgetVerifiedPin();
  }

  reset(): void {
    this.clearPinSessions();
    this.currentEf = undefined;
    this.challenge?.fill(0);
    this.challenge = undefined;
    this.secureMessaging.close();
    this.verificationIssuer = undefined;
    wipePendingNode(this.hdNode);
    this.hdNode = undefined;
    this.pka.reset();
    this.secureLockOpen = false;
  }
}
