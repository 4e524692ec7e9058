import assert from "node:assert/strict";
import {
  countUserFailures,
  forgetLoginAttempt,
  pruneLoginFailures,
  recordLoginFailure,
  reserveLoginFailure,
  settleLoginFailure,
  sourceFailureTimes,
  userFailureCounts,
} from "./login-failures.js";
import type { StoreCase } from "./store-fixture.js";
import { at, testOnEveryBackend, uniqueName } from "./store-fixture.js";

const cases: StoreCase[] = [
  {
    name: "failures are counted per account and user name after a given time",
    async run({ store: { db } }) {
      const account = uniqueName("acme");
      for (const s of [10, 20, 30]) await recordLoginFailure(db, { accountName: account, userName: "bob", source: "10.0.0.1", at: at(s) });
      await recordLoginFailure(db, { accountName: account, userName: "carol", source: "10.0.0.1", at: at(20) });
      assert.equal(await countUserFailures(db, account, "bob", at(0)), 3);
      assert.equal(await countUserFailures(db, account, "bob", at(10)), 2);
      assert.equal(await countUserFailures(db, account, "carol", at(0)), 1);
      assert.equal(await countUserFailures(db, uniqueName("other"), "bob", at(0)), 0);
    },
  },
  {
    name: "failures of one source are listed oldest first, whatever the names",
    async run({ store: { db } }) {
      const source = uniqueName("198.51.100");
      await recordLoginFailure(db, { accountName: "a", userName: "x", source, at: at(30) });
      await recordLoginFailure(db, { accountName: "b", userName: "y", source, at: at(10) });
      await recordLoginFailure(db, { accountName: "b", userName: "y", source: "elsewhere", at: at(20) });
      assert.deepEqual(await sourceFailureTimes(db, source, at(0)), [at(10).toISOString(), at(30).toISOString()]);
      assert.deepEqual(await sourceFailureTimes(db, source, at(10)), [at(30).toISOString()]);
    },
  },
  {
    name: "pruning forgets failures up to the given time and keeps the later ones",
    async run({ store: { db } }) {
      const source = uniqueName("203.0.113");
      for (const s of [1000, 2000, 3000]) await recordLoginFailure(db, { accountName: "a", userName: "x", source, at: at(s) });
      await pruneLoginFailures(db, at(2000));
      assert.deepEqual(await sourceFailureTimes(db, source, at(0)), [at(3000).toISOString()]);
    },
  },
  {
    name: "a reserved attempt counts as a failure and as pending until settled, and a forgotten one counts for nothing",
    async run({ store: { db } }) {
      const account = uniqueName("acme");
      const source = uniqueName("192.0.2");
      await recordLoginFailure(db, { accountName: account, userName: "bob", source, at: at(10) });
      const settling = await reserveLoginFailure(db, { accountName: account, userName: "bob", source, at: at(20) });
      const forgetting = await reserveLoginFailure(db, { accountName: account, userName: "bob", source, at: at(30) });
      assert.deepEqual(await userFailureCounts(db, account, "bob", at(0), at(0)), { failures: 3, pending: 2 });
      // Reserved before `pendingSince`: a check that never ended, counted as a plain failure.
      assert.deepEqual(await userFailureCounts(db, account, "bob", at(0), at(25)), { failures: 3, pending: 1 });
      assert.equal((await sourceFailureTimes(db, source, at(0))).length, 3);
      await settleLoginFailure(db, settling);
      await forgetLoginAttempt(db, forgetting);
      assert.deepEqual(await userFailureCounts(db, account, "bob", at(0), at(0)), { failures: 2, pending: 0 });
      assert.equal(await countUserFailures(db, account, "bob", at(0)), 2);
      assert.deepEqual(await sourceFailureTimes(db, source, at(0)), [at(10).toISOString(), at(20).toISOString()]);
    },
  },
];

testOnEveryBackend(cases);
