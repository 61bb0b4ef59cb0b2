/** The package's contracts: `fn` calls Token; `Token:fn` names it. */
import { Token } from "./token";

export const contracts = [Token];
