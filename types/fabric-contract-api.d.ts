/**
 * Types for `fabric-contract-api` as chainpool's chaincode sandbox provides it: classes
 * extending `Contract`, exported as `module.exports.contracts = [...]` (or `export const
 * contracts = [...]`). A call's function `fn` runs the first contract's method `fn`;
 * `Name:fn` runs the method of the contract named `Name`. Each method gets the context and
 * then the call's arguments as strings; what it returns is the answer (a string as it is,
 * a Buffer as its text, anything else as JSON). Shapes as in Fabric's fabric-contract-api 2.x.
 */
declare module "fabric-contract-api" {
  import type { ChaincodeStub, ClientIdentity } from "fabric-shim";

  export class Context {
    stub: ChaincodeStub;
    clientIdentity: ClientIdentity;
  }

  export class Contract {
    /** The contract's name for `Name:fn` calls; the class name when not given. */
    constructor(name?: string);
    getName(): string;
    /** Makes each transaction's context; override it to give the context more. */
    createContext(): Context;
    beforeTransaction(ctx: Context): Promise<void>;
    afterTransaction(ctx: Context, result: unknown): Promise<void>;
    /** Called for a function the contract does not have; by default it fails the transaction. */
    unknownTransaction(ctx: Context): Promise<void>;
  }

  // Fabric's metadata decorators: accepted, and do nothing here.
  export function Transaction(commit?: boolean): (target: any, propertyKey: string | symbol) => void;
  export function Returns(returnType?: string): (target: any, propertyKey: string | symbol) => void;
  export function Param(paramName: string, paramType: string, description?: string): (target: any, propertyKey: string | symbol) => void;
  export function Object(opts?: object): (target: any) => void;
  export function Property(name?: string, type?: string): (target: any, propertyKey: string | symbol) => void;
  export function Info(info?: object): (target: any) => void;
  export function Default(): (target: any) => void;
}
