/**
 * A fungible token: balances under `balance~account` composite keys, a total supply, and
 * a `Transfer` event per move. Amounts are integers kept as decimal text (BigInt inside),
 * so no rounding can differ between nodes.
 */
import { Context, Contract } from "fabric-contract-api";

const BALANCE = "balance~account";
const SUPPLY = "totalSupply";

export class Token extends Contract {
  constructor() {
    super("Token");
  }

  /** Deploy with --ctor Mint --args '["alice", "1000"]' to start with a supply. */
  async Mint(ctx: Context, account: string, amount: string): Promise<string> {
    const value = parseAmount(amount);
    await this.setBalance(ctx, account, (await this.balance(ctx, account)) + value);
    const supply = (await readAmount(ctx, SUPPLY)) + value;
    await ctx.stub.putState(SUPPLY, supply.toString());
    ctx.stub.setEvent("Transfer", JSON.stringify({ from: "", to: account, amount: value.toString() }));
    return supply.toString();
  }

  async Transfer(ctx: Context, from: string, to: string, amount: string): Promise<void> {
    const value = parseAmount(amount);
    const balance = await this.balance(ctx, from);
    if (balance < value) throw new Error(`${from} holds ${balance}, cannot send ${value}`);
    await this.setBalance(ctx, from, balance - value);
    await this.setBalance(ctx, to, (await this.balance(ctx, to)) + value);
    ctx.stub.setEvent("Transfer", JSON.stringify({ from, to, amount: value.toString() }));
  }

  async BalanceOf(ctx: Context, account: string): Promise<string> {
    return (await this.balance(ctx, account)).toString();
  }

  async TotalSupply(ctx: Context): Promise<string> {
    return (await readAmount(ctx, SUPPLY)).toString();
  }

  /** Every account with a balance, as {account: amount}, in account order. */
  async Holders(ctx: Context): Promise<Record<string, string>> {
    const holders: Record<string, string> = {};
    for await (const { key, value } of ctx.stub.getStateByPartialCompositeKey(BALANCE, [])) {
      const [account = ""] = ctx.stub.splitCompositeKey(key).attributes;
      holders[account] = value.toString("utf8");
    }
    return holders;
  }

  private async balance(ctx: Context, account: string): Promise<bigint> {
    return readAmount(ctx, ctx.stub.createCompositeKey(BALANCE, [account]));
  }

  private async setBalance(ctx: Context, account: string, amount: bigint): Promise<void> {
    await ctx.stub.putState(ctx.stub.createCompositeKey(BALANCE, [account]), Buffer.from(amount.toString()));
  }
}

async function readAmount(ctx: Context, key: string): Promise<bigint> {
  const bytes = await ctx.stub.getState(key);
  return bytes.length === 0 ? 0n : BigInt(bytes.toString("utf8"));
}

function parseAmount(text: string): bigint {
  if (!/^[0-9]{1,30}$/.test(text)) throw new Error(`amount must be a whole number, got ${JSON.stringify(text)}`);
  return BigInt(text);
}
