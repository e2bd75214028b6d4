export * from "./keystore.ts";
