import { DeviceHalError } from "../src/index.ts";

/** Returns the DeviceHalError that `promise` rejects with; throws when it resolves or rejects with anything else. */
export async function rejectionOf(promise: Promise<unknown>): Promise<DeviceHalError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DeviceHalError) return error;
    throw error;
  }
  throw new Error("expected the promise to reject");
}
