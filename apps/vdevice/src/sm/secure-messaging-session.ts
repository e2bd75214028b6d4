/**
 * Secure-messaging state of the HSM applet: whether MSE SET AT selected the
 * chip-authentication protocol, and the channel GENERAL AUTHENTICATE opened.
 * Volatile: SELECT of the applet, power-off, reset and any SM error end it.
 */
import type { SecureChannel } from "@hsmkit/sm-channel";

export class SecureMessagingSession {
  /** MSE SET AT selected id-CA-ECDH-AES-CBC-CMAC-128 since the last SELECT. */
  protocolSelected = false;

  /**
   * Whether GENERAL AUTHENTICATE may run without a PIN session. OpenSC performs
   * chip authentication before VERIFY, so the device allows it by default. The
   * firmware returns 6400 until a PIN is verified.
   */
  allowBeforePin = true;

  #channel: SecureChannel | undefined;
  #inFlight: SecureChannel | undefined;

  /** The open channel, or undefined. */
  get channel(): SecureChannel | undefined {
    return this.#channel;
  }

  /** Installs the channel GENERAL AUTHENTICATE derived, ending any previous one. */
  open(channel: SecureChannel): void {
    this.close();
    this.#channel = channel;
  }

  /** Selects the protocol (MSE SET AT) and ends any open channel. */
  selectProtocol(): void {
    this.close();
    this.protocolSelected = true;
  }

  /**
   * Ends the channel and clears the protocol selection. The keys of a channel
   * that is carrying a command right now stay until its response is wrapped,
   * so that the response to a protected SELECT still reaches the host protected.
   */
  close(): void {
    const channel = this.#channel;
    this.#channel = undefined;
    this.protocolSelected = false;
    if (channel !== undefined && channel !== this.#inFlight) channel.close();
  }

  /** Marks `channel` as carrying the current command; `finish` wipes it if the session ended meanwhile. */
  begin(channel: SecureChannel): void {
    this.#inFlight = channel;
  }

  finish(channel: SecureChannel): void {
    this.#inFlight = undefined;
    if (this.#channel !== channel) channel.close();
  }
}
