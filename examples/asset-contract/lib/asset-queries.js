/*
 * AssetQueries: read-only views over the assets AssetTransfer keeps. Called as
 * `AssetQueries:AssetsByOwner`, since it is not the package's first contract.
 */
'use strict';

/** @typedef {import('fabric-contract-api').Context} Context */

const { Contract } = require('fabric-contract-api');
const { OWNER_INDEX, fromBytes } = require('./asset');

class AssetQueries extends Contract {
  constructor() {
    super('AssetQueries');
  }

  /**
   * The assets an owner holds, in ID order, through the owner~id index.
   * @param {Context} ctx
   */
  async AssetsByOwner(ctx, owner) {
    const iterator = await ctx.stub.getStateByPartialCompositeKey(OWNER_INDEX, [owner]);
    const assets = [];
    let res = await iterator.next();
    while (!res.done) {
      const { attributes } = ctx.stub.splitCompositeKey(res.value.key);
      const bytes = await ctx.stub.getState(attributes[1]);
      assets.push(fromBytes(bytes));
      res = await iterator.next();
    }
    await iterator.close();
    return JSON.stringify(assets);
  }

  /**
   * Assets whose IDs are in [startId, endId).
   * @param {Context} ctx
   */
  async AssetsInRange(ctx, startId, endId) {
    const assets = [];
    for await (const kv of ctx.stub.getStateByRange(startId, endId)) {
      assets.push(fromBytes(kv.value));
    }
    return JSON.stringify(assets);
  }

  /**
   * How many assets each owner holds, as {owner: count}, through the whole index.
   * @param {Context} ctx
   */
  async CountByOwner(ctx) {
    const counts = {};
    for await (const kv of ctx.stub.getStateByPartialCompositeKey(OWNER_INDEX, [])) {
      const [owner] = ctx.stub.splitCompositeKey(kv.key).attributes;
      counts[owner] = (counts[owner] || 0) + 1;
    }
    return JSON.stringify(counts);
  }
}

module.exports = AssetQueries;
