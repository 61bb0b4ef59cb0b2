/**
 * The JavaScript evaluated once in every chaincode context before the user's code: Fabric's
 * `fabric-shim` and `fabric-contract-api` as far as they mean something here, `util.format`,
 * a `Buffer` subset, TextEncoder/TextDecoder, `console`, a deterministic `Date` and
 * `Math.random`, a CommonJS loader that instantiates the package's modules afresh for every
 * transaction, and finally a lockdown that freezes every intrinsic and the global object.
 *
 * It is a function expression taking the host bridge (an object of host functions, see
 * sandbox.ts); it answers the object the host drives transactions through. The bridge is
 * reachable only through the closures below: after lockdown nothing the chaincode can reach
 * leads to it, and nothing of the node's own realm exists in the context at all.
 *
 * Written as a raw string (no backticks or dollar-brace inside) so that it is the same text
 * under tsx, esbuild's bundle and Deno.
 */
export const PRELUDE_SOURCE = String.raw`(function (host) {
"use strict";
var rawCall = host.call;
// Strings cross into the host as JSON (QuickJS hands the host C strings, which would end at
// a U+0000, and composite keys are full of them); answers come back the same way.
function hostCall(op) {
  var args = Array.prototype.slice.call(arguments, 1);
  var answer = rawCall(op, op === "utf8decode" ? args[0] : JSON.stringify(args));
  return op === "utf8encode" || answer === undefined ? answer : JSON.parse(answer);
}
var freeze = Object.freeze, defineProperty = Object.defineProperty, getOwnPropertyNames = Object.getOwnPropertyNames;
var getOwnPropertySymbols = Object.getOwnPropertySymbols, getPrototypeOf = Object.getPrototypeOf;
var JSONstringify = JSON.stringify, JSONparse = JSON.parse;
var arrayPush = Array.prototype.push;

// ---- per transaction state, reset by run() ----
var tx = null;           // {txId, millis, seconds, nanos, fn, args, mode, seed}
var registered = null;   // what shim.start() was given during this transaction's module load

// ---- Buffer (the subset chaincode uses: from, toString, length, equals, concat) ----
class Buffer extends Uint8Array {
  static from(value, encoding) {
    if (typeof value === "string") {
      if (encoding === "hex") {
        var hex = new Buffer(value.length >> 1);
        for (var i = 0; i < hex.length; i++) hex[i] = parseInt(value.substr(i * 2, 2), 16);
        return hex;
      }
      if (encoding === "base64") return Buffer.from(base64Decode(value));
      return new Buffer(hostCall("utf8encode", value));
    }
    if (value instanceof ArrayBuffer) return new Buffer(value);
    if (value && typeof value.length === "number") {
      var copy = new Buffer(value.length);
      for (var k = 0; k < value.length; k++) copy[k] = value[k] & 255;
      return copy;
    }
    if (value && value.type === "Buffer" && Array.isArray(value.data)) return Buffer.from(value.data);
    throw new TypeError("Buffer.from takes a string, an array, an ArrayBuffer or a Buffer");
  }
  static alloc(size) { return new Buffer(size); }
  static isBuffer(value) { return value instanceof Buffer; }
  static byteLength(value) { return typeof value === "string" ? hostCall("utf8encode", value).byteLength : value.length; }
  static concat(list) {
    var total = 0;
    for (var i = 0; i < list.length; i++) total += list[i].length;
    var out = new Buffer(total), at = 0;
    for (var j = 0; j < list.length; j++) { out.set(list[j], at); at += list[j].length; }
    return out;
  }
  toString(encoding, start, end) {
    start = start === undefined ? 0 : start;
    end = end === undefined ? this.length : end;
    if (encoding === "hex") {
      var hex = "";
      for (var i = start; i < end; i++) hex += (this[i] < 16 ? "0" : "") + this[i].toString(16);
      return hex;
    }
    if (encoding === "base64") return base64Encode(this.subarray(start, end));
    return textOf(this.subarray(start, end));
  }
  toJSON() { return { type: "Buffer", data: Array.prototype.slice.call(this) }; }
  equals(other) {
    if (this.length !== other.length) return false;
    for (var i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
    return true;
  }
}
var B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function base64Encode(bytes) {
  var out = "";
  for (var i = 0; i < bytes.length; i += 3) {
    var n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=") + (i + 2 < bytes.length ? B64[n & 63] : "=");
  }
  return out;
}
function base64Decode(text) {
  var clean = String(text).replace(/[^A-Za-z0-9+/]/g, ""), out = [], bits = 0, value = 0;
  for (var i = 0; i < clean.length; i++) {
    value = (value << 6) | B64.indexOf(clean[i]); bits += 6;
    if (bits >= 8) { bits -= 8; out.push((value >> bits) & 255); }
  }
  return out;
}
function toBuffer(value) {
  if (value instanceof Uint8Array) return value instanceof Buffer ? value : Buffer.from(value);
  if (typeof value === "string") return Buffer.from(value);
  if (value === undefined || value === null) return Buffer.alloc(0);
  throw new TypeError("a value must be a string or a Buffer");
}
// UTF-8 both ways is done by the host (TextEncoder/TextDecoder, charged by length): a loop
// over every byte in the interpreter would spend a megabyte's budget on the encoding alone.
function textOf(bytes) {
  if (bytes.length === 0) return "";
  return hostCall("utf8decode", bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer);
}
function bytesToText(value) {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return textOf(value);
  throw new TypeError("a value must be a string or a Buffer, not " + typeof value);
}
class TextEncoder { get encoding() { return "utf-8"; } encode(text) { return new Uint8Array(hostCall("utf8encode", text === undefined ? "" : String(text))); } }
class TextDecoder { get encoding() { return "utf-8"; } decode(bytes) { if (bytes === undefined) return ""; var u = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes; return textOf(u); } }

// ---- util.format and console ----
function inspect(value) {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.stack ? value.name + ": " + value.message + "\n" + value.stack : String(value);
  if (typeof value === "function") return "[Function: " + (value.name || "anonymous") + "]";
  if (typeof value === "object" && value !== null) { try { return JSONstringify(value); } catch (e) { return "[object]"; } }
  return String(value);
}
function format(first) {
  var args = arguments, index = 1, out;
  if (typeof first === "string") {
    out = first.replace(/%[sdifjoO%]/g, function (token) {
      if (token === "%%") return "%";
      if (index >= args.length) return token;
      var arg = args[index++];
      switch (token) {
        case "%s": return typeof arg === "string" ? arg : inspect(arg);
        case "%d": case "%i": return String(token === "%i" ? parseInt(arg, 10) : Number(arg));
        case "%f": return String(parseFloat(arg));
        case "%j": try { return JSONstringify(arg); } catch (e) { return "[Circular]"; }
        default: return inspect(arg);
      }
    });
  } else { out = inspect(first); }
  for (; index < args.length; index++) out += " " + inspect(args[index]);
  return out;
}
function logAt(level) { return function () { hostCall("log", level, format.apply(null, arguments)); }; }
var console = { log: logAt("info"), info: logAt("info"), debug: logAt("debug"), warn: logAt("warn"), error: logAt("error"), trace: logAt("debug") };
var util = { format: format, inspect: inspect, isDeepStrictEqual: function (a, b) { return JSONstringify(a) === JSONstringify(b); },
  promisify: function (fn) { return function () { var self = this, args = Array.prototype.slice.call(arguments);
    return new Promise(function (resolve, reject) { args.push(function (err, value) { if (err) reject(err); else resolve(value); }); fn.apply(self, args); }); }; },
  TextEncoder: TextEncoder, TextDecoder: TextDecoder };

// ---- Date: the transaction's timestamp, UTC only ----
var OriginalDate = Date;
var originalParse = OriginalDate.parse, originalUTC = OriginalDate.UTC;
var originalOffset = OriginalDate.prototype.getTimezoneOffset;
function parseUTC(text) {
  var t = originalParse(text);
  if (t !== t) return t;
  // A date-time without zone is local time in JavaScript: here it is UTC, whatever the node's zone.
  if (!/(Z|[+-]\d\d:?\d\d|GMT|UTC)\s*$/i.test(String(text)) && !/^\d{4}-\d\d-\d\d$/.test(String(text))) {
    t -= originalOffset.call(new OriginalDate(t)) * 60000;
  }
  return t;
}
function txMillis() {
  if (tx === null) throw new Error("Date has no time outside a transaction");
  return tx.millis;
}
function SandboxDate(a, b, c, d, e, f, g) {
  var n = arguments.length, time;
  if (n === 0) time = txMillis();
  else if (n === 1) time = typeof a === "string" ? parseUTC(a) : (a instanceof OriginalDate ? a.getTime() : Number(a));
  else time = originalUTC.apply(null, arguments);
  var date = Reflect.construct(OriginalDate, [time], new.target || SandboxDate);
  return new.target ? date : date.toString();
}
SandboxDate.prototype = OriginalDate.prototype;
defineProperty(OriginalDate.prototype, "constructor", { value: SandboxDate, writable: true, configurable: true });
SandboxDate.now = function now() { return txMillis(); };
SandboxDate.parse = function parse(text) { return parseUTC(text); };
SandboxDate.UTC = originalUTC;
(function () {
  var proto = OriginalDate.prototype;
  ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds", "Milliseconds"].forEach(function (part) {
    proto["get" + part] = proto["getUTC" + part];
    if (part !== "Day") proto["set" + part] = proto["setUTC" + part];
  });
  proto.getTimezoneOffset = function getTimezoneOffset() { return 0; };
  proto.toString = function toString() { return this.toUTCString(); };
  proto.toDateString = function toDateString() { return this.toISOString().slice(0, 10); };
  proto.toTimeString = function toTimeString() { return this.toISOString().slice(11) + " GMT+0000"; };
  proto.toLocaleString = function toLocaleString() { return this.toISOString(); };
  proto.toLocaleDateString = function toLocaleDateString() { return this.toISOString().slice(0, 10); };
  proto.toLocaleTimeString = function toLocaleTimeString() { return this.toISOString().slice(11, 19); };
  delete proto.getYear; delete proto.setYear;
})();

// ---- Math.random: seeded from the transaction id (xorshift128+) ----
var seedState = [0, 0, 0, 0];
function seedRandom(hex) {
  for (var i = 0; i < 4; i++) seedState[i] = parseInt(hex.substr(i * 8, 8), 16) | 0;
  if ((seedState[0] | seedState[1] | seedState[2] | seedState[3]) === 0) seedState[0] = 1;
}
Math.random = function random() {
  if (tx === null) throw new Error("Math.random has no seed outside a transaction");
  var t = seedState[3], s = seedState[0];
  seedState[3] = seedState[2]; seedState[2] = seedState[1]; seedState[1] = s;
  t ^= t << 11; t ^= t >>> 8;
  seedState[0] = t ^ s ^ (s >>> 19);
  return (seedState[0] >>> 0) / 4294967296;
};

// ---- the stub ----
var KEY_DELIMITER = "\u0000", MIN_UNICODE = "\u0001", MAX_UNICODE = "\udbff\udfff";
function createCompositeKey(objectType, attributes) {
  validateCompositeKeyAttribute(objectType);
  var key = KEY_DELIMITER + objectType + KEY_DELIMITER;
  for (var i = 0; i < (attributes || []).length; i++) { validateCompositeKeyAttribute(attributes[i]); key += attributes[i] + KEY_DELIMITER; }
  return key;
}
function validateCompositeKeyAttribute(part) {
  if (typeof part !== "string") throw new TypeError("a composite key part must be a string");
  if (part.indexOf(KEY_DELIMITER) >= 0) throw new Error("a composite key part must not contain U+0000");
}
function splitCompositeKey(compositeKey) {
  var result = { objectType: null, attributes: [] };
  if (compositeKey && compositeKey.length > 1 && compositeKey.charAt(0) === KEY_DELIMITER) {
    var parts = compositeKey.substring(1).split(KEY_DELIMITER);
    if (parts[0]) { result.objectType = parts[0]; parts.pop(); if (parts.length > 1) { parts.splice(0, 1); result.attributes = parts; } }
  }
  return result;
}
function checkKey(key) {
  if (typeof key !== "string" || key === "") throw new Error("a key must be a non-empty string");
  return key;
}
// An iterator over [key, value] pairs answered by the host; usable with next()/close(), with
// for await straight over the promise getStateByRange returns, and awaited first as in Fabric.
function StateIterator(pairs) { this._pairs = pairs; this._at = 0; this._closed = false; }
StateIterator.prototype.next = function next() {
  if (this._closed || this._at >= this._pairs.length) return Promise.resolve({ done: true, value: undefined });
  var pair = this._pairs[this._at++];
  var value = { key: pair[0], value: Buffer.from(pair[1]), namespace: "" };
  return Promise.resolve({ done: false, value: value });
};
StateIterator.prototype.close = function close() { this._closed = true; return Promise.resolve(); };
StateIterator.prototype[Symbol.asyncIterator] = function () { return this; };
function iteratorPromise(pairs) {
  var iterator = new StateIterator(pairs);
  var promise = Promise.resolve(iterator);
  promise[Symbol.asyncIterator] = function () { return iterator; };
  promise.next = function () { return iterator.next(); };
  promise.close = function () { return iterator.close(); };
  promise.iterator = iterator;
  return promise;
}
function pairsFrom(json) { return JSONparse(json); }

function ChaincodeStub(current) {
  this._tx = current;
  this._event = null;
}
ChaincodeStub.prototype = {
  constructor: ChaincodeStub,
  getArgs: function () { return [this._tx.fn].concat(this._tx.args); },
  getStringArgs: function () { return [this._tx.fn].concat(this._tx.args); },
  getBufferArgs: function () { return this.getArgs().map(function (a) { return Buffer.from(a); }); },
  getFunctionAndParameters: function () { return { fcn: this._tx.fn, params: this._tx.args.slice() }; },
  getTxID: function () { return this._tx.txId; },
  getChannelID: function () { return ""; },
  getTxTimestamp: function () { return { seconds: { low: this._tx.seconds, high: 0, unsigned: false, toNumber: function () { return this.low; } }, nanos: this._tx.nanos }; },
  getDateTimestamp: function () { return new SandboxDate(this._tx.millis); },
  getCreator: function () { return { mspid: "", idBytes: Buffer.alloc(0) }; },
  getTransient: function () { return new Map(); },
  getState: function (key) {
    var value = hostCall("getState", checkKey(key));
    return Promise.resolve(value === undefined ? Buffer.alloc(0) : Buffer.from(value));
  },
  putState: function (key, value) {
    hostCall("putState", checkKey(key), bytesToText(value));
    return Promise.resolve();
  },
  deleteState: function (key) { hostCall("deleteState", checkKey(key)); return Promise.resolve(); },
  getStateByRange: function (startKey, endKey) {
    return iteratorPromise(pairsFrom(hostCall("range", String(startKey || ""), String(endKey || ""))));
  },
  getStateByPartialCompositeKey: function (objectType, attributes) {
    var prefix = createCompositeKey(objectType, attributes || []);
    return iteratorPromise(pairsFrom(hostCall("prefix", prefix)));
  },
  createCompositeKey: function (objectType, attributes) { return createCompositeKey(objectType, attributes); },
  splitCompositeKey: function (key) { return splitCompositeKey(key); },
  setEvent: function (name, payload) {
    if (typeof name !== "string" || name === "") throw new Error("an event needs a non-empty name");
    hostCall("setEvent", name, bytesToText(payload === undefined ? "" : payload));
  },
  invokeChaincode: function (chaincodeName, args, channel) {
    var strings = (args || []).map(function (a) { return bytesToText(a); });
    var answer = JSONparse(hostCall("invoke", String(chaincodeName), JSONstringify(strings)));
    return Promise.resolve({ status: answer.status, message: answer.message, payload: Buffer.from(answer.payload) });
  }
};

// ---- fabric-shim ----
var shim = {
  start: function (chaincode) {
    if (!chaincode || (typeof chaincode.Init !== "function" && typeof chaincode.Invoke !== "function")) {
      throw new Error("shim.start needs an object with Init and Invoke methods");
    }
    registered = chaincode;
  },
  success: function (payload) { return { status: 200, message: "", payload: payload === undefined ? Buffer.alloc(0) : toBuffer(payload) }; },
  error: function (message) { return { status: 500, message: message instanceof Error ? message.message : String(message), payload: Buffer.alloc(0) }; },
  newLogger: function (name) { return { debug: console.debug, info: console.info, warn: console.warn, error: console.error, level: "info" }; },
  ChaincodeStub: ChaincodeStub,
  ClientIdentity: function () { this.mspId = ""; this.getMSPID = function () { return ""; }; this.getID = function () { return ""; }; },
  Shim: null
};
shim.Shim = shim;

// ---- fabric-contract-api ----
function Context() { this.stub = null; this.clientIdentity = null; this.logging = { getLogger: function () { return shim.newLogger(); } }; }
class Contract {
  constructor(name) { this.__name = name || this.constructor.name; }
  getName() { return this.__name; }
  createContext() { return new Context(); }
  beforeTransaction(ctx) { return Promise.resolve(); }
  afterTransaction(ctx, result) { return Promise.resolve(); }
  unknownTransaction(ctx) { throw new Error("You've asked to invoke a function that does not exist: " + ctx.stub.getFunctionAndParameters().fcn); }
}
function noopDecorator() { return function () {}; }
var contractApi = { Contract: Contract, Context: Context, Transaction: noopDecorator, Returns: noopDecorator, Object: noopDecorator,
  Property: noopDecorator, Info: noopDecorator, Param: noopDecorator, Default: noopDecorator, JSONSerializer: function () {} };

// ---- modules: compiled once, instantiated afresh in every transaction ----
var factories = Object.create(null);  // path -> function (exports, require, module, __filename, __dirname)
var entryPath = "";
var builtins = { "fabric-shim": shim, "fabric-contract-api": contractApi, "util": util };
var cache = null;
function dirname(path) { var i = path.lastIndexOf("/"); return i < 0 ? "" : path.slice(0, i); }
function normalize(path) {
  var out = [];
  path.split("/").forEach(function (part) {
    if (part === "" || part === ".") return;
    if (part === "..") { if (out.length === 0) throw new Error("a require leaves the package: " + path); out.pop(); }
    else out.push(part);
  });
  return out.join("/");
}
function resolve(from, request) {
  var base = normalize((dirname(from) ? dirname(from) + "/" : "") + request);
  var candidates = [base, base + ".js", base + ".cjs", base + ".mjs", base + ".json", base + "/index.js"];
  for (var i = 0; i < candidates.length; i++) if (factories[candidates[i]] !== undefined) return candidates[i];
  throw new Error("Cannot find module '" + request + "' from '" + from + "'");
}
function requireFrom(from) {
  return function require(request) {
    request = String(request);
    if (request.indexOf("node:") === 0) request = request.slice(5);
    if (Object.prototype.hasOwnProperty.call(builtins, request)) return builtins[request];
    if (request.charAt(0) !== "." && request.charAt(0) !== "/") {
      throw new Error("Cannot find module '" + request + "': chaincode may require only fabric-shim, fabric-contract-api, util and its own files");
    }
    var path = resolve(from, request.charAt(0) === "/" ? request.slice(1) : request);
    if (cache[path]) return cache[path].exports;
    var module = { exports: {}, id: path, filename: path, loaded: false };
    cache[path] = module;
    factories[path].call(module.exports, module.exports, requireFrom(path), module, path, dirname(path));
    module.loaded = true;
    return module.exports;
  };
}

// ---- one transaction ----
function describe(error) {
  if (error instanceof Error) return error.message ? (error.name && error.name !== "Error" ? error.name + ": " : "") + error.message : String(error.name || "Error");
  if (typeof error === "string") return error;
  try { return JSONstringify(error); } catch (e) { return String(error); }
}
function payloadText(payload) {
  if (payload === undefined || payload === null) return "";
  if (typeof payload === "string") return payload;
  if (payload instanceof Uint8Array) return textOf(payload);
  var json = JSONstringify(payload);
  return json === undefined ? "" : json;
}
function contractsOf(exports) {
  var list = exports && exports.contracts;
  if (!Array.isArray(list) && exports && exports.prototype instanceof Contract) list = [exports];
  if (!Array.isArray(list) && exports && exports.default && Array.isArray(exports.default.contracts)) list = exports.default.contracts;
  return Array.isArray(list) && list.length > 0 ? list : null;
}
function methodsOf(instance) {
  var names = [], proto = getPrototypeOf(instance);
  while (proto && proto !== Contract.prototype && proto !== Object.prototype) {
    getOwnPropertyNames(proto).forEach(function (name) {
      if (name !== "constructor" && typeof proto[name] === "function" && names.indexOf(name) < 0) names.push(name);
    });
    proto = getPrototypeOf(proto);
  }
  return names;
}
function settle(outcome) { return outcome; }
async function runContract(list, current, stub) {
  var contracts = list.map(function (Class) {
    if (typeof Class !== "function") throw new Error("module.exports.contracts must hold Contract classes");
    return new Class();
  });
  var fn = current.fn, contract = contracts[0], method = fn;
  var colon = fn.indexOf(":");
  if (colon >= 0) {
    var name = fn.slice(0, colon);
    method = fn.slice(colon + 1);
    contract = null;
    for (var i = 0; i < contracts.length; i++) if (contracts[i].getName() === name) contract = contracts[i];
    if (contract === null) throw new Error("no contract named \"" + name + "\" (contracts: " + contracts.map(function (c) { return c.getName(); }).join(", ") + ")");
  }
  var known = methodsOf(contract).filter(function (m) { return m !== "beforeTransaction" && m !== "afterTransaction" && m !== "unknownTransaction" && m !== "createContext" && m !== "getName" && m.charAt(0) !== "_"; });
  var ctx = contract.createContext();
  ctx.stub = stub;
  ctx.clientIdentity = new shim.ClientIdentity();
  if (known.indexOf(method) < 0) {
    if (current.mode === "init") return { status: 200, message: "", payload: "" };
    await contract.unknownTransaction(ctx);
    return { status: 200, message: "", payload: "" };
  }
  await contract.beforeTransaction(ctx);
  var result = await contract[method].apply(contract, [ctx].concat(current.args));
  await contract.afterTransaction(ctx, result);
  return { status: 200, message: "", payload: payloadText(result) };
}
async function runShim(chaincode, current, stub) {
  var handler = current.mode === "init" ? chaincode.Init : chaincode.Invoke;
  if (typeof handler !== "function") {
    if (current.mode === "init") return { status: 200, message: "", payload: "" };
    throw new Error("the chaincode has no Invoke method");
  }
  var response = await handler.call(chaincode, stub);
  if (!response || typeof response.status !== "number") throw new Error("Init and Invoke must answer shim.success(...) or shim.error(...)");
  return { status: response.status, message: String(response.message || ""), payload: payloadText(response.payload) };
}
function loadEntry() {
  cache = Object.create(null);
  registered = null;
  var exports = requireFrom("")( "./" + entryPath);
  var list = contractsOf(exports);
  if (registered === null && list === null) {
    var candidate = exports && (exports.default || exports);
    if (candidate && typeof candidate.Invoke === "function") registered = candidate;
    else if (typeof candidate === "function" && candidate.prototype && typeof candidate.prototype.Invoke === "function") registered = new candidate();
  }
  return { shim: registered, contracts: list };
}

var api = {
  // path, factory: one module of the package; entry: the main module's path.
  define: function (path, factory) { factories[path] = factory; },
  setEntry: function (path) { entryPath = path; },
  // Loads the package once outside any transaction, to report a bad package at deploy.
  check: function () {
    tx = { txId: "", millis: 0, seconds: 0, nanos: 0, fn: "", args: [], mode: "check", seed: "00000000000000000000000000000000" };
    try {
      var loaded = loadEntry();
      if (!loaded.shim && !loaded.contracts) return "the package neither calls shim.start(...) with an object having Init and Invoke, nor exports contracts (module.exports.contracts = [...])";
      return "";
    } catch (error) { return describe(error); }
    finally { tx = null; cache = null; registered = null; }
  },
  // Starts one transaction; its outcome is handed to host.call("done", json) once settled.
  run: function (json) {
    var current = JSONparse(json);
    tx = current;
    seedRandom(current.seed);
    var finish = function (outcome) { tx = null; cache = null; registered = null; hostCall("done", JSONstringify(outcome)); };
    var promise;
    try {
      var loaded = loadEntry();
      var stub = new ChaincodeStub(current);
      if (loaded.contracts) promise = runContract(loaded.contracts, current, stub);
      else if (loaded.shim) promise = runShim(loaded.shim, current, stub);
      else throw new Error("the package neither calls shim.start(...) nor exports contracts");
    } catch (error) {
      finish({ status: 500, message: describe(error), payload: "" });
      return;
    }
    promise.then(function (outcome) { finish(outcome); }, function (error) { finish({ status: 500, message: describe(error), payload: "" }); });
  }
};

// ---- globals the chaincode sees ----
var globalObject = globalThis;
// What garbage collection decides is not the same on every node (it depends on what the
// runtime ran before): nothing may observe it.
delete globalObject.WeakRef;
delete globalObject.FinalizationRegistry;
defineProperty(globalObject, "Date", { value: SandboxDate, writable: true, configurable: true });
globalObject.console = console;
globalObject.Buffer = Buffer;
globalObject.TextEncoder = TextEncoder;
globalObject.TextDecoder = TextDecoder;
globalObject.global = globalObject;
if (typeof Error.captureStackTrace !== "function") Error.captureStackTrace = function captureStackTrace() {};

// ---- lockdown: every intrinsic and the global object frozen ----
// Properties that code commonly overrides on its own objects (this.name = ... in an Error
// subclass, a toString of its own) would hit a frozen prototype's data property and fail;
// they become accessors whose setter defines the property on the object written to.
var OVERRIDABLE = ["constructor", "name", "message", "toString", "toLocaleString", "valueOf", "toJSON"];
function enableOverride(object) {
  OVERRIDABLE.forEach(function (key) {
    var desc = Object.getOwnPropertyDescriptor(object, key);
    if (!desc || !("value" in desc) || !desc.configurable) return;
    var value = desc.value;
    // Method shorthand: accessors without a prototype of their own (which would need hardening too).
    var accessors = {
      get() { return value; },
      set(next) {
        if (this === object) throw new TypeError("Cannot assign to read only property '" + key + "' of a frozen intrinsic");
        defineProperty(this, key, { value: next, writable: true, enumerable: true, configurable: true });
      }
    };
    defineProperty(object, key, { get: accessors.get, set: accessors.set, enumerable: desc.enumerable, configurable: false });
  });
}
var seen = new Set(), pending = [];
function harden(root) {
  pending.push(root);
  while (pending.length > 0) {
    var value = pending.pop();
    if ((typeof value !== "object" && typeof value !== "function") || value === null || seen.has(value)) continue;
    seen.add(value);
    if (typeof value === "function" && value.prototype && typeof value.prototype === "object") enableOverride(value.prototype);
    if (value === Object.prototype || value === Function.prototype || value === Error.prototype) enableOverride(value);
    freeze(value);
    pending.push(getPrototypeOf(value));
    var keys = getOwnPropertyNames(value).concat(getOwnPropertySymbols(value));
    for (var i = 0; i < keys.length; i++) {
      var desc = Object.getOwnPropertyDescriptor(value, keys[i]);
      if (!desc) continue;
      if ("value" in desc) pending.push(desc.value);
      else { pending.push(desc.get); pending.push(desc.set); }
    }
  }
}
[shim, contractApi, util, console, Context.prototype, StateIterator.prototype, ChaincodeStub.prototype].forEach(harden);
harden(globalObject);
harden(async function () {});
harden(function* () {});
harden(async function* () {});
harden(Object.getPrototypeOf([][Symbol.iterator]()));
harden(Object.getPrototypeOf(new Map()[Symbol.iterator]()));
harden(Object.getPrototypeOf(new Set()[Symbol.iterator]()));
harden(Object.getPrototypeOf(""[Symbol.iterator]()));
harden(Object.getPrototypeOf(/a/[Symbol.matchAll]("")));
harden(Object.getPrototypeOf(Int8Array));
return api;
})`;
