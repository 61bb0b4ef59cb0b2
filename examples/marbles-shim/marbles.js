/*
 * Marbles: a shim-style chaincode (Init/Invoke) as it is written for Hyperledger Fabric's
 * fabric-shim. Each marble is a JSON document under its name; a composite key
 * `color~name` indexes marbles by colour, so all marbles of a colour are found with a
 * partial composite-key query; a range query lists marbles by name; transfers set events.
 *
 * Functions (invoke): initMarble NAME COLOR SIZE OWNER, transferMarble NAME OWNER,
 * transferMarblesBasedOnColor COLOR OWNER, delete NAME.
 * Functions (query): readMarble NAME, getMarblesByRange START END, getMarblesByColor COLOR.
 */
'use strict';

/** @typedef {import('fabric-shim').ChaincodeStub} ChaincodeStub */

const shim = require('fabric-shim');
const util = require('util');

const COLOR_INDEX = 'color~name';
const FUNCTIONS = ['initMarble', 'readMarble', 'delete', 'transferMarble', 'transferMarblesBasedOnColor', 'getMarblesByRange', 'getMarblesByColor'];

class Marbles {
  /** @param {ChaincodeStub} stub */
  async Init(stub) {
    console.info('=========== Instantiated marbles chaincode ===========');
    return shim.success();
  }

  /** @param {ChaincodeStub} stub */
  async Invoke(stub) {
    const { fcn, params } = stub.getFunctionAndParameters();
    console.info(util.format('marbles: %s %j (tx %s)', fcn, params, stub.getTxID()));
    if (!FUNCTIONS.includes(fcn)) {
      return shim.error(`marbles: unknown function ${fcn} (expected one of ${FUNCTIONS.join(', ')})`);
    }
    try {
      const payload = await this[fcn](stub, params);
      return shim.success(payload);
    } catch (err) {
      return shim.error(err.message);
    }
  }

  /** @param {ChaincodeStub} stub @param {string[]} args */
  async initMarble(stub, args) {
    if (args.length !== 4) {
      throw new Error('initMarble expects 4 arguments: name, color, size, owner');
    }
    const [name, color, sizeText, owner] = args;
    const size = parseInt(sizeText, 10);
    if (!name || !color || !owner) throw new Error('name, color and owner must be non-empty');
    if (isNaN(size)) throw new Error(`size must be a number, got ${sizeText}`);

    const existing = await stub.getState(name);
    if (existing.length !== 0) throw new Error(`marble ${name} already exists`);

    const marble = { docType: 'marble', name, color: color.toLowerCase(), size, owner: owner.toLowerCase() };
    await stub.putState(name, Buffer.from(JSON.stringify(marble)));

    // The index entry's value is unused; Fabric's samples store a single NUL byte.
    const indexKey = stub.createCompositeKey(COLOR_INDEX, [marble.color, marble.name]);
    await stub.putState(indexKey, Buffer.from('\u0000'));
    stub.setEvent('MarbleCreated', Buffer.from(JSON.stringify(marble)));
  }

  /** @param {ChaincodeStub} stub @param {string[]} args */
  async readMarble(stub, args) {
    if (args.length !== 1) throw new Error('readMarble expects 1 argument: name');
    const bytes = await stub.getState(args[0]);
    if (!bytes || bytes.length === 0) throw new Error(`marble ${args[0]} does not exist`);
    return bytes;
  }

  /** @param {ChaincodeStub} stub @param {string[]} args */
  async delete(stub, args) {
    if (args.length !== 1) throw new Error('delete expects 1 argument: name');
    const marble = await this.load(stub, args[0]);
    await stub.deleteState(marble.name);
    await stub.deleteState(stub.createCompositeKey(COLOR_INDEX, [marble.color, marble.name]));
  }

  /** @param {ChaincodeStub} stub @param {string[]} args */
  async transferMarble(stub, args) {
    if (args.length !== 2) throw new Error('transferMarble expects 2 arguments: name, new owner');
    const marble = await this.load(stub, args[0]);
    const from = marble.owner;
    marble.owner = args[1].toLowerCase();
    await stub.putState(marble.name, Buffer.from(JSON.stringify(marble)));
    stub.setEvent('MarbleTransferred', Buffer.from(JSON.stringify({ name: marble.name, from, to: marble.owner })));
  }

  // The explicit iterator of fabric-shim 1.x: next() until done, then close().
  /** @param {ChaincodeStub} stub @param {string[]} args */
  async transferMarblesBasedOnColor(stub, args) {
    if (args.length !== 2) throw new Error('transferMarblesBasedOnColor expects 2 arguments: color, new owner');
    const color = args[0].toLowerCase();
    const owner = args[1].toLowerCase();
    const iterator = await stub.getStateByPartialCompositeKey(COLOR_INDEX, [color]);
    const moved = [];
    for (;;) {
      const res = await iterator.next();
      if (res.value && res.value.key) {
        const { attributes } = stub.splitCompositeKey(res.value.key);
        const marble = await this.load(stub, attributes[1]);
        marble.owner = owner;
        await stub.putState(marble.name, Buffer.from(JSON.stringify(marble)));
        moved.push(marble.name);
      }
      if (res.done) {
        await iterator.close();
        break;
      }
    }
    stub.setEvent('MarblesTransferred', Buffer.from(JSON.stringify({ color, to: owner, marbles: moved })));
    return Buffer.from(JSON.stringify(moved));
  }

  // fabric-shim 2.x: for await straight over the query, without awaiting it first.
  /** @param {ChaincodeStub} stub @param {string[]} args */
  async getMarblesByRange(stub, args) {
    if (args.length !== 2) throw new Error('getMarblesByRange expects 2 arguments: start key, end key');
    const found = [];
    for await (const { key, value } of stub.getStateByRange(args[0], args[1])) {
      found.push({ Key: key, Record: JSON.parse(value.toString('utf8')) });
    }
    return Buffer.from(JSON.stringify(found));
  }

  /** @param {ChaincodeStub} stub @param {string[]} args */
  async getMarblesByColor(stub, args) {
    if (args.length !== 1) throw new Error('getMarblesByColor expects 1 argument: color');
    const names = [];
    for await (const kv of stub.getStateByPartialCompositeKey(COLOR_INDEX, [args[0].toLowerCase()])) {
      names.push(stub.splitCompositeKey(kv.key).attributes[1]);
    }
    return Buffer.from(JSON.stringify(names));
  }

  /** @param {ChaincodeStub} stub @param {string} name */
  async load(stub, name) {
    const bytes = await stub.getState(name);
    if (!bytes || bytes.length === 0) throw new Error(`marble ${name} does not exist`);
    return JSON.parse(bytes.toString());
  }
}

shim.start(new Marbles());
