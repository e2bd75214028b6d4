/**
 * @hsmkit/sm-channel: chip authentication and secure messaging (SM) with
 * id-CA-ECDH-AES-CBC-CMAC-128 as the SmartCard-HSM implements them, for the
 * card side (a virtual device) and the host side (a program talking to a card).
 */
export * from "./errors.ts";
export * from "./padding.ts";
export * from "./session-keys.ts";
export { encodeSsc } from "./protection.ts";
export * from "./secure-channel.ts";
export * from "./chip-authentication.ts";
