import type { PoolInfo } from "../../../protocol/api-access.js";
import { API } from "../routes.js";
import { type CollectionKind, CollectionPage } from "./membership.js";

const POOLS: CollectionKind<PoolInfo> = {
  title: "Pools",
  noun: "pool",
  memberNoun: "device",
  listRoute: API.pools,
  itemRoute: API.pool,
  changeRoute: API.poolDevices,
  candidatesRoute: API.devices,
  members: (item) => item.devices,
};

/** Pools of devices: create, delete, add and remove devices. */
export function PoolsPage() {
  return <CollectionPage kind={POOLS} />;
}
