/*
 * AssetTransfer: create, read, update, transfer and delete assets. Every write keeps the
 * owner~id index in step, so AssetQueries can list an owner's assets.
 */
'use strict';

/** @typedef {import('fabric-contract-api').Context} Context */

const { Contract } = require('fabric-contract-api');
const { OWNER_INDEX, toBytes, fromBytes, positiveInteger } = require('./asset');

class AssetTransfer extends Contract {
  constructor() {
    super('AssetTransfer');
  }

  /**
   * Deploy with --ctor InitLedger to start with a few assets.
   * @param {Context} ctx
   */
  async InitLedger(ctx) {
    const assets = [
      { ID: 'asset1', Color: 'blue', Size: 5, Owner: 'Tomoko', AppraisedValue: 300 },
      { ID: 'asset2', Color: 'red', Size: 5, Owner: 'Brad', AppraisedValue: 400 },
      { ID: 'asset3', Color: 'green', Size: 10, Owner: 'Jin Soo', AppraisedValue: 500 },
      { ID: 'asset4', Color: 'yellow', Size: 10, Owner: 'Max', AppraisedValue: 600 },
    ];
    for (const asset of assets) {
      await this._write(ctx, asset);
    }
    console.info(`InitLedger: ${assets.length} assets`);
    return assets.length;
  }

  /** @param {Context} ctx */
  async CreateAsset(ctx, id, color, size, owner, appraisedValue) {
    if (await this.AssetExists(ctx, id)) {
      throw new Error(`The asset ${id} already exists`);
    }
    const asset = {
      ID: id,
      Color: color,
      Size: positiveInteger(size, 'Size'),
      Owner: owner,
      AppraisedValue: positiveInteger(appraisedValue, 'AppraisedValue'),
    };
    await this._write(ctx, asset);
    ctx.stub.setEvent('AssetCreated', toBytes(asset));
    return JSON.stringify(asset);
  }

  /** @param {Context} ctx */
  async ReadAsset(ctx, id) {
    const bytes = await ctx.stub.getState(id);
    if (!bytes || bytes.length === 0) {
      throw new Error(`The asset ${id} does not exist`);
    }
    return bytes.toString();
  }

  /** @param {Context} ctx */
  async UpdateAsset(ctx, id, color, size, owner, appraisedValue) {
    const old = fromBytes(Buffer.from(await this.ReadAsset(ctx, id)));
    await this._unindex(ctx, old);
    await this._write(ctx, {
      ID: id,
      Color: color,
      Size: positiveInteger(size, 'Size'),
      Owner: owner,
      AppraisedValue: positiveInteger(appraisedValue, 'AppraisedValue'),
    });
  }

  /** @param {Context} ctx */
  async DeleteAsset(ctx, id) {
    const asset = fromBytes(Buffer.from(await this.ReadAsset(ctx, id)));
    await this._unindex(ctx, asset);
    await ctx.stub.deleteState(id);
  }

  /** @param {Context} ctx */
  async AssetExists(ctx, id) {
    const bytes = await ctx.stub.getState(id);
    return bytes.length > 0;
  }

  /**
   * Answers the previous owner.
   * @param {Context} ctx
   */
  async TransferAsset(ctx, id, newOwner) {
    const asset = fromBytes(Buffer.from(await this.ReadAsset(ctx, id)));
    const oldOwner = asset.Owner;
    await this._unindex(ctx, asset);
    asset.Owner = newOwner;
    await this._write(ctx, asset);
    ctx.stub.setEvent('AssetTransferred', Buffer.from(JSON.stringify({ ID: id, From: oldOwner, To: newOwner })));
    return oldOwner;
  }

  /**
   * Every asset, in ID order (the index entries are composite keys, outside any plain range).
   * @param {Context} ctx
   */
  async GetAllAssets(ctx) {
    const all = [];
    for await (const { value } of ctx.stub.getStateByRange('', '')) {
      all.push(fromBytes(value));
    }
    return JSON.stringify(all);
  }

  // Helpers: a name starting with "_" is not a transaction (in Fabric's contract API as here).
  /** @param {Context} ctx */
  async _write(ctx, asset) {
    asset.UpdatedAt = ctx.stub.getTxTimestamp().seconds.toNumber();
    await ctx.stub.putState(asset.ID, toBytes(asset));
    await ctx.stub.putState(ctx.stub.createCompositeKey(OWNER_INDEX, [asset.Owner, asset.ID]), Buffer.from('\u0000'));
  }

  /** @param {Context} ctx */
  async _unindex(ctx, asset) {
    await ctx.stub.deleteState(ctx.stub.createCompositeKey(OWNER_INDEX, [asset.Owner, asset.ID]));
  }
}

module.exports = AssetTransfer;
