/**
 * A cluster's URL secret: the random path prefix every client route of its nodes needs
 * (`http://host:port/<secret>/chain`), so that a node's address alone opens nothing. Shared
 * by the daemon (which makes and hands out secrets) and the chain node (which checks them).
 */
import { randomBytes } from "node:crypto";

/** What a URL secret looks like: base64url, at least 22 characters (128 bits). */
export const URL_SECRET_PATTERN = /^[A-Za-z0-9_-]{22,256}$/;

/** A fresh secret: 24 random bytes (192 bits), 32 URL-safe characters. */
export function newUrlSecret(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * A node's base URL as clients use it: the secret as the first path segment. No secret (a
 * cluster made with secrets off) leaves the URL as it is, and so does an empty URL (a
 * cluster not made yet has none).
 */
export function withUrlSecret(url: string, secret: string): string {
  return url === "" || secret === "" ? url : `${url}/${secret}`;
}
