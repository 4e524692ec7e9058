import type { PoolInfo } from "../protocol/api-access.js";
import { namedSetOperations } from "./named-sets.js";
import { findDeviceByName } from "./store/devices.js";
import { POOL_TABLES } from "./store/pools.js";

/** Pools: named sets of the account's devices, for admins only. */
export const {
  byName: poolByName,
  list: listAccountPools,
  show: showPool,
  add: addPool,
  remove: removeAccountPool,
  changeMembers: changePoolDevices,
} = namedSetOperations<PoolInfo>({
  memberNoun: "device",
  tables: POOL_TABLES,
  actions: { list: "pool.list", show: "pool.show", add: "pool.add", remove: "pool.remove", members: "pool.devices" },
  findMember: findDeviceByName,
  info: (pool, devices) => ({ name: pool.name, devices, createdAt: pool.created_at }),
});
