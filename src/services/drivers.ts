import { ChainpoolError } from "../core/errors.ts";
import type { Host, HostType } from "../core/types.ts";
import type { DriverContext, DriverFactory, HostDriver } from "../drivers/contract.ts";

/** One driver instance per host, made on first use by the factory of the host's type. */
export class DriverRegistry {
  readonly #factories: Partial<Record<HostType, DriverFactory>>;
  readonly #context: (host: Host) => DriverContext;
  readonly #drivers = new Map<string, HostDriver>();

  constructor(options: { factories: Partial<Record<HostType, DriverFactory>>; context: (host: Host) => DriverContext }) {
    this.#factories = options.factories;
    this.#context = options.context;
  }

  supports(type: HostType): boolean {
    return this.#factories[type] !== undefined;
  }

  get types(): HostType[] {
    return Object.keys(this.#factories) as HostType[];
  }

  /**
   * Throws the factory's error (a BAD_REQUEST naming the field) when this daemon could not
   * drive such a host: unknown type, bad daemon_url, unreadable TLS files, unknown params.
   * Nothing is contacted and no driver is made.
   */
  check(host: Host): void {
    const factory = this.#factories[host.type];
    if (!factory) throw new ChainpoolError("BAD_REQUEST", `type: host type "${host.type}" is not supported by this daemon`);
    factory.check?.(host);
  }

  get(host: Host): HostDriver {
    let driver = this.#drivers.get(host.id);
    if (!driver) {
      const factory = this.#factories[host.type];
      if (!factory) throw new ChainpoolError("BAD_REQUEST", `host type "${host.type}" is not supported by this daemon`);
      driver = factory(host, this.#context(host));
      this.#drivers.set(host.id, driver);
    }
    return driver;
  }

  /** Drops the cached driver after a host changed or went away. */
  async forget(hostId: string): Promise<void> {
    const driver = this.#drivers.get(hostId);
    this.#drivers.delete(hostId);
    await driver?.dispose();
  }

  async close(): Promise<void> {
    const all = [...this.#drivers.values()];
    this.#drivers.clear();
    await Promise.allSettled(all.map((d) => d.dispose()));
  }
}
