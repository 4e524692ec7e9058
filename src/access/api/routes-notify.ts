import { AlarmRequest, ChannelAddRequest, NOTIFY_ROUTES, RuleAddRequest } from "../../protocol/api-notify.js";
import { recordAlarm } from "../alarms.js";
import { addChannel, addRule, listChannels, listNotifications, listRules, removeChannel, removeRule, testChannel } from "../notify-channels.js";
import { adminOnly, body, type RouteKit, requestingAgent } from "./route-kit.js";

/** Notification routes: channels, rules and the queue for admins (checked before the body is read); alarms for agents. */
export function registerNotifyRoutes({ app, ctx, auth }: RouteKit): void {
  app.post(NOTIFY_ROUTES.agentAlarm, async (c) => {
    const identity = await requestingAgent(ctx, c);
    return c.json(await recordAlarm(ctx, identity, await body(c, AlarmRequest), c.get("source")));
  });
  app.get(NOTIFY_ROUTES.channels, auth, adminOnly(ctx, "notify.channel-list", "notification channels"), async (c) =>
    c.json(await listChannels(ctx, c.get("principal"))),
  );
  app.post(NOTIFY_ROUTES.channels, auth, adminOnly(ctx, "notify.channel-add", "notification channels"), async (c) =>
    c.json(await addChannel(ctx, c.get("principal"), await body(c, ChannelAddRequest)), 201),
  );
  app.delete(NOTIFY_ROUTES.channel, auth, adminOnly(ctx, "notify.channel-remove"), async (c) => {
    await removeChannel(ctx, c.get("principal"), c.req.param("name"));
    return c.json({ ok: true });
  });
  app.post(NOTIFY_ROUTES.channelTest, auth, adminOnly(ctx, "notify.channel-test"), async (c) =>
    c.json(await testChannel(ctx, c.get("principal"), c.req.param("name"))),
  );
  app.get(NOTIFY_ROUTES.rules, auth, adminOnly(ctx, "notify.rule-list", "notification rules"), async (c) => c.json(await listRules(ctx, c.get("principal"))));
  app.post(NOTIFY_ROUTES.rules, auth, adminOnly(ctx, "notify.rule-add", "notification rules"), async (c) =>
    c.json(await addRule(ctx, c.get("principal"), await body(c, RuleAddRequest)), 201),
  );
  app.delete(NOTIFY_ROUTES.rule, auth, adminOnly(ctx, "notify.rule-remove"), async (c) => {
    await removeRule(ctx, c.get("principal"), c.req.param("id"));
    return c.json({ ok: true });
  });
  app.get(NOTIFY_ROUTES.log, auth, adminOnly(ctx, "notify.list", "notifications"), async (c) => c.json(await listNotifications(ctx, c.get("principal"))));
}
