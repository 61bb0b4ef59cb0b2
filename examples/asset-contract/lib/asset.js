/*
 * An asset as stored: JSON with its fields always in the same order, so that every node
 * (and every Fabric peer endorsing the transaction) writes the same bytes.
 */
'use strict';

const FIELDS = ['ID', 'Color', 'Size', 'Owner', 'AppraisedValue', 'UpdatedAt'];

/** The composite key that indexes assets by owner: owner~id. */
const OWNER_INDEX = 'owner~id';

function toBytes(asset) {
  const ordered = {};
  for (const field of FIELDS) ordered[field] = asset[field];
  return Buffer.from(JSON.stringify(ordered));
}

function fromBytes(bytes) {
  return JSON.parse(bytes.toString('utf8'));
}

function positiveInteger(text, name) {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

module.exports = { OWNER_INDEX, toBytes, fromBytes, positiveInteger };
