import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { filterAllowsAddress, parseTargetEntry } from "../protocol/target-filter.js";
import { type AccessModel, decideDeviceAccess, decideStream } from "./access-decision.js";

/**
 * The access decision against a reference model written the plain way: nested loops over
 * memberships, addresses as small numbers inside 10.0.0.0/28, ranges as [low, high]. The
 * generated accounts deliberately link groups, pools and rules across accounts, which the
 * store never does, to show that such links never grant anything.
 */

const ACCOUNTS = ["a", "b"];
const PORTS = [22, 80, 502];
const NAMES = ["plc", "hmi"];
const BASE = 0x0a000000; // 10.0.0.0

/** A reference entry: an address range (offsets in 10.0.0.0/28) or a name, with optional ports. */
type RefEntry = { kind: "range"; low: number; high: number; ports?: number[] } | { kind: "name"; name: string; ports?: number[] };

interface RefWorld {
  users: { account: string; admin: boolean }[];
  devices: { account: string; lan: RefEntry[] }[];
  groups: { account: string; members: number[] }[];
  pools: { account: string; devices: number[] }[];
  rules: { account: string; group: number; pool: number; connect: boolean; targets: RefEntry[] | null }[];
}

const ports = fc.option(fc.uniqueArray(fc.constantFrom(...PORTS), { minLength: 1 }), { nil: undefined });
const lanRange = fc.record({ start: fc.nat(15), prefix: fc.integer({ min: 28, max: 32 }) }).map(({ start, prefix }): RefEntry => {
  const size = 2 ** (32 - prefix);
  const low = Math.floor(start / size) * size;
  return { kind: "range", low, high: low + size - 1 };
});
const range = fc.tuple(lanRange, ports).map(([r, p]): RefEntry => (p ? { ...r, ports: p } : r));
const named = fc.record({ name: fc.constantFrom(...NAMES), ports }).map(({ name, ports: p }): RefEntry => ({ kind: "name", name, ...(p ? { ports: p } : {}) }));
const entry = fc.oneof(range, range, named);

/** Writes an entry in one of its spellings, as an admin might. */
function entryText(e: RefEntry, spelling: number): string {
  const suffix = e.ports ? `:${[...e.ports].reverse().join(",")}` : "";
  if (e.kind === "name") return `${spelling % 2 ? e.name.toUpperCase() : e.name}${suffix}`;
  const prefix = 32 - Math.log2(e.high - e.low + 1);
  const host = `10.0.0.${e.low}`;
  if (prefix === 32 && spelling % 3 === 1) return `${host}${suffix}`;
  if (spelling % 3 === 2 && !e.ports) return `::ffff:${host}/${prefix + 96}`;
  return `${host}/${prefix}${suffix}`;
}

/** Writes a target address in one of the spellings a client might send. */
function addressText(offset: number, spelling: number): string {
  switch (spelling % 6) {
    case 0:
      return `10.0.0.${offset}`;
    case 1:
      return `::ffff:10.0.0.${offset}`;
    case 2:
      return `::FFFF:A00:${offset.toString(16).toUpperCase()}`;
    case 3:
      return `10.${offset}`;
    case 4:
      return String(BASE + offset);
    default:
      return `0xa.0.0.${offset}`;
  }
}

const world: fc.Arbitrary<RefWorld> = fc
  .record({
    users: fc.array(fc.record({ account: fc.constantFrom(...ACCOUNTS), admin: fc.boolean() }), { minLength: 1, maxLength: 5 }),
    devices: fc.array(fc.record({ account: fc.constantFrom(...ACCOUNTS), lan: fc.array(lanRange, { minLength: 1, maxLength: 2 }) }), {
      minLength: 1,
      maxLength: 4,
    }),
    groupCount: fc.integer({ min: 0, max: 4 }),
    poolCount: fc.integer({ min: 0, max: 4 }),
  })
  .chain(({ users, devices, groupCount, poolCount }) =>
    fc.record({
      users: fc.constant(users),
      devices: fc.constant(devices),
      groups: fc.array(fc.record({ account: fc.constantFrom(...ACCOUNTS), members: fc.uniqueArray(fc.nat(users.length - 1)) }), {
        minLength: groupCount,
        maxLength: groupCount,
      }),
      pools: fc.array(fc.record({ account: fc.constantFrom(...ACCOUNTS), devices: fc.uniqueArray(fc.nat(devices.length - 1)) }), {
        minLength: poolCount,
        maxLength: poolCount,
      }),
      rules:
        groupCount === 0 || poolCount === 0
          ? fc.constant([])
          : fc.array(
              fc.record({
                account: fc.constantFrom(...ACCOUNTS),
                group: fc.nat(groupCount - 1),
                pool: fc.nat(poolCount - 1),
                connect: fc.boolean(),
                targets: fc.option(fc.array(entry, { minLength: 1, maxLength: 3 }), { nil: null }),
              }),
              { maxLength: 6 },
            ),
    }),
  );

/** The model the decision reads, with entries written in varying spellings. */
function toModel(w: RefWorld, spelling: number): AccessModel {
  return {
    users: w.users.map((u, i) => ({ id: `u${i}`, accountId: u.account, role: u.admin ? "admin" : "member" })),
    devices: w.devices.map((d, i) => ({ id: `d${i}`, accountId: d.account, lan: d.lan.map((e) => entryText(e, 0)) })),
    groups: w.groups.map((g, i) => ({ id: `g${i}`, accountId: g.account, members: g.members.map((m) => `u${m}`) })),
    pools: w.pools.map((p, i) => ({ id: `p${i}`, accountId: p.account, devices: p.devices.map((d) => `d${d}`) })),
    rules: w.rules
      // The store holds one rule per group and pool.
      .filter((r, i, all) => all.findIndex((o) => o.group === r.group && o.pool === r.pool) === i)
      .map((r) => ({
        accountId: r.account,
        groupId: `g${r.group}`,
        poolId: `p${r.pool}`,
        level: r.connect ? "connect" : "view",
        targets: r.targets?.map((e, j) => entryText(e, spelling + j)) ?? null,
      })),
  };
}

/** The reference: level 0 none, 1 view, 2 connect, and the entries a stream may use. */
function reference(w: RefWorld, u: number, d: number): { level: number; entries: RefEntry[] } {
  const user = w.users[u]!;
  const device = w.devices[d]!;
  if (user.account !== device.account) return { level: 0, entries: [] };
  if (user.admin) return { level: 2, entries: device.lan };
  let level = 0;
  const entries: RefEntry[] = [];
  w.rules.forEach((r, i) => {
    if (w.rules.findIndex((o) => o.group === r.group && o.pool === r.pool) !== i) return;
    const group = w.groups[r.group]!;
    const pool = w.pools[r.pool]!;
    const sameAccount = r.account === user.account && group.account === user.account && pool.account === user.account;
    if (!sameAccount || !group.members.includes(u) || !pool.devices.includes(d)) return;
    level = Math.max(level, r.connect ? 2 : 1);
    if (r.connect) entries.push(...(r.targets ?? device.lan));
  });
  return { level, entries: level === 2 ? entries : [] };
}

const portOk = (e: RefEntry, port: number): boolean => e.ports === undefined || e.ports.includes(port);

function referenceStream(ref: { level: number; entries: RefEntry[] }, target: { offset?: number; name?: string; port: number }): string {
  if (ref.level === 0) return "not-found";
  if (ref.level === 1) return "forbidden";
  const forPort = ref.entries.filter((e) => portOk(e, target.port));
  if (target.offset !== undefined) {
    const o = target.offset;
    if (forPort.some((e) => e.kind === "range" && e.low <= o && o <= e.high)) return "allow:allowed";
    return forPort.some((e) => e.kind === "name") ? "allow:ask-agent" : "target-not-allowed";
  }
  return forPort.length > 0 ? "allow:ask-agent" : "target-not-allowed";
}

const target = fc.oneof(
  fc.record({ offset: fc.nat(15), port: fc.constantFrom(...PORTS, 8080), spelling: fc.nat(5) }),
  fc.record({ name: fc.constantFrom(...NAMES, "other"), port: fc.constantFrom(...PORTS, 8080), spelling: fc.nat(5) }),
);

describe("the access decision, compared with a reference model", () => {
  it("agrees on every user's level and targets for every device", () => {
    fc.assert(
      fc.property(world, fc.nat(5), (w, spelling) => {
        const m = toModel(w, spelling);
        for (const u of w.users.keys()) {
          for (const d of w.devices.keys()) {
            const got = decideDeviceAccess(m, `u${u}`, `d${d}`);
            const want = reference(w, u, d);
            assert.equal(got.level, ["none", "view", "connect"][want.level]);
            // The targets agree as sets of addresses and ports, whatever their spelling.
            const entries = got.targets.map(parseTargetEntry);
            for (let o = 0; o < 16; o++) {
              for (const port of PORTS) {
                const refAllows = want.entries.some((e) => e.kind === "range" && e.low <= o && o <= e.high && portOk(e, port));
                assert.equal(filterAllowsAddress(entries, `10.0.0.${o}`, port), refAllows, `10.0.0.${o}:${port}`);
              }
            }
            for (const name of NAMES) {
              for (const port of PORTS) {
                const refAllows = want.entries.some((e) => e.kind === "name" && e.name === name && portOk(e, port));
                const gotAllows = entries.some((e) => e.host.kind === "name" && e.host.name === name && (!e.ports || e.ports.includes(port)));
                assert.equal(gotAllows, refAllows, `${name}:${port}`);
              }
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("agrees on every stream: refusal code, or which layer judges the target", () => {
    fc.assert(
      fc.property(world, fc.nat(5), fc.array(target, { minLength: 1, maxLength: 8 }), (w, spelling, targets) => {
        const m = toModel(w, spelling);
        for (const u of w.users.keys()) {
          for (const d of w.devices.keys()) {
            const access = decideDeviceAccess(m, `u${u}`, `d${d}`);
            const ref = reference(w, u, d);
            for (const t of targets) {
              const host = "offset" in t ? addressText(t.offset, t.spelling) : t.spelling % 2 ? t.name.toUpperCase() : t.name;
              const got = decideStream(access, { host, port: t.port });
              const shown = got.outcome === "allow" ? `allow:${got.verdict}` : got.outcome;
              assert.equal(shown, referenceStream(ref, t), `u${u} → d${d} ${host}:${t.port}`);
              if (got.outcome === "allow")
                assert.ok(
                  got.targets.every((e) => {
                    const p = parseTargetEntry(e).ports;
                    return !p || p.includes(t.port);
                  }),
                );
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
