import { createRequire } from 'node:module';
import { isIPv4, isIPv6 } from 'node:net';
import { dirname, join } from 'node:path';
import maxmind, { type CountryResponse, type Reader } from 'maxmind';
import { normaliseAddress } from '../identity/AddressHasher.js';

/** The package's records: `{ country_code: 'DE' }` (a subset of what maxmind's types describe). */
type CountryRecord = CountryResponse & { country_code?: string };

/**
 * Country of a client address from an offline database that ships as an npm package
 * (@ip-location-db/geo-whois-asn-country-mmdb, built from the regional registries' data; NRO,
 * CC BY 4.0): no lookup ever leaves the machine. The IPv4 table (3 MB) is loaded at start, the
 * IPv6 one (5 MB) the first time an IPv6 client arrives. Unknown or private addresses → null.
 */
export class GeoIp {
  readonly #v4: Reader<CountryRecord>;
  #v6: Promise<Reader<CountryRecord>> | null = null;
  readonly #dir: string;

  private constructor(dir: string, v4: Reader<CountryRecord>) {
    this.#dir = dir;
    this.#v4 = v4;
  }

  static async open(): Promise<GeoIp> {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/package.json'));
    const v4 = await maxmind.open<CountryRecord>(join(dir, 'geo-whois-asn-country-ipv4.mmdb'), {
      cache: { max: 2000 },
    });
    return new GeoIp(dir, v4);
  }

  /** ISO 3166-1 alpha-2 country code, or null. */
  async countryOf(address: string): Promise<string | null> {
    const ip = normaliseAddress(address);
    let record: CountryRecord | null = null;
    if (isIPv4(ip)) record = this.#v4.get(ip);
    else if (isIPv6(ip)) {
      this.#v6 ??= maxmind.open<CountryRecord>(join(this.#dir, 'geo-whois-asn-country-ipv6.mmdb'), {
        cache: { max: 2000 },
      });
      record = (await this.#v6).get(ip);
    }
    const code = record?.country_code;
    return typeof code === 'string' && /^[A-Z]{2}$/.test(code) ? code : null;
  }
}
