import { OPERATOR_ROUTES, OperatorAccountAdd, OperatorAccountQuery, OperatorAccountState } from "../../protocol/api-operator.js";
import { FernlinkError } from "../../protocol/errors.js";
import { accountSummaries, addAccount, type OperatorRecord, setAccountState } from "../operator-accounts.js";
import { authenticateOperator } from "../operator-tokens.js";
import { body, type RouteKit } from "./route-kit.js";

/**
 * The operator's routes, for an operator token only (`fernlink operator token add`): list,
 * create, disable and enable accounts, as `fernlink operator account` does on the host.
 * Removing an account stays on the host, where the operator also sees what goes with it.
 */
export function registerOperatorRoutes({ app, ctx }: Pick<RouteKit, "app" | "ctx">): void {
  const operator = async (authorization: string | undefined): Promise<OperatorRecord> => {
    const bearer = authorization?.startsWith("Bearer ") ? authorization.slice(7) : undefined;
    const name = await authenticateOperator(ctx.db, bearer);
    return { auditKey: ctx.auditKey, operator: `token ${name} (operator)`, now: ctx.now() };
  };

  app.get(OPERATOR_ROUTES.accounts, async (c) => {
    const rec = await operator(c.req.header("authorization"));
    const { since } = OperatorAccountQuery.parse(c.req.query());
    return c.json(await accountSummaries(ctx.db, rec.now, since === undefined ? undefined : new Date(since)));
  });

  app.post(OPERATOR_ROUTES.accounts, async (c) => {
    const rec = await operator(c.req.header("authorization"));
    const input = await body(c, OperatorAccountAdd);
    await addAccount(ctx.db, input, rec);
    const made = (await accountSummaries(ctx.db, rec.now)).find((a) => a.name === input.name);
    if (!made) throw new FernlinkError("internal", `account "${input.name}" vanished after it was made`);
    return c.json(made, 201);
  });

  app.post(OPERATOR_ROUTES.accountState, async (c) => {
    const rec = await operator(c.req.header("authorization"));
    const name = c.req.param("name");
    const { state } = await body(c, OperatorAccountState);
    const changed = await setAccountState(ctx.db, name, state, rec);
    return c.json({ name, state, changed });
  });
}
