import { randomBytes } from "node:crypto";

/** 24 hex characters, the shape of Cello's MongoDB ids, random so they are never reused. */
export function newId(): string {
  return randomBytes(12).toString("hex");
}

export function nowIso(): string {
  return new Date().toISOString();
}
