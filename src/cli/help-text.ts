import { type Command, Help, type Option } from "commander";

/** One example per command (by its path), shown under its --help. */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  server: [
    "fernlink server --init-account acme --init-user alice     # first start: the account and its first admin",
    "fernlink server --listen 0.0.0.0:443 --hostname fernlink.example.com",
    "fernlink server --listen 0.0.0.0:443 --publish-ports 15000-15099   # ports published ports may use",
  ],
  "server backup": [
    "fernlink server backup --data ./fernlink-data /var/backups/fernlink-$(date +%F).tar.gz   # while the server runs",
    "FERNLINK_DB='postgres://fernlink:…@db/fernlink?schema=fernlink' fernlink server backup --data ./fernlink-data keys.tar.gz   # keys only: pg_dump the rest",
    "FERNLINK_DB='postgres://fernlink:…@db/fernlink?schema=fernlink' fernlink server backup --data ./fernlink-data --pg-dump all.tar.gz   # keys and schema",
  ],
  "server restore": [
    "fernlink server restore --data ./fernlink-data-restored /var/backups/fernlink-2026-12-05.tar.gz",
    "FERNLINK_DB='postgres://fernlink:…@db/fernlink?schema=fernlink' fernlink server restore --data ./fernlink-data all.tar.gz   # made with --pg-dump",
  ],
  login: [
    "fernlink login --server https://127.0.0.1:8443 --ca ./fernlink-data/ca.pem --account acme --user alice",
    "FERNLINK_PROXY_PASSWORD='…' fernlink login --server https://fernlink.example.com --proxy http://alice@proxy.plant.local:3128",
  ],
  logout: ["fernlink logout"],
  whoami: ["fernlink whoami --json"],
  "device add": ["fernlink device add press-7 --lan 192.168.1.0/24 --lan 10.10.0.0/16"],
  "device key": ["fernlink device key press-7"],
  "device list": ["fernlink device list --json"],
  "device show": ["fernlink device show press-7"],
  "device remove": ["fernlink device remove press-7"],
  "device agent-publish": ["fernlink device agent-publish press-7 allow"],
  "device web": ["fernlink device web press-7 --add http://192.168.1.10/ --name HMI"],
  "agent register": ["FERNLINK_ACTIVATION_KEY=7K3QD-… fernlink agent register --server https://fernlink.example.com --ca ca.pem --state /var/lib/fernlink"],
  "agent run": [
    "fernlink agent run --state /var/lib/fernlink --allow 192.168.1.0/24:502,80",
    "fernlink agent run --state /var/lib/fernlink --publish 15020:192.168.1.10:502,allow-from=10.20.0.0/16   # after: " +
      "fernlink device agent-publish press-7 allow",
    "fernlink agent run --state /var/lib/fernlink --switch command:/usr/local/bin/read-key-switch   # prints off, online or remote",
    "fernlink agent run --state /var/lib/fernlink --profile cellular          # PING every 5 min: under 100 KB a day idle",
    "fernlink agent run --state /var/lib/fernlink --on-demand --check-in 5    # no tunnel until a user asks",
    "FERNLINK_PROXY_PASSWORD='…' fernlink agent run --state /var/lib/fernlink --proxy http://press7@proxy.plant.local:3128",
    "fernlink agent run --state /var/lib/fernlink --alarm-listen 127.0.0.1:8125 --alarm-mqtt mqtt://127.0.0.1:1883/plant/alarms",
  ],
  "agent switch": ["fernlink agent switch online --state /var/lib/fernlink     # connected and visible, every stream refused"],
  "relay add": ["fernlink relay add relay-eu-1 --region eu --data ./fernlink-data"],
  "relay run": ["fernlink relay run --access https://access.example.com --ca ca.pem --key KEY --state ./relay-state --listen 0.0.0.0:443"],
  "relay list": ["fernlink relay list --data ./fernlink-data"],
  "login-throttle list": ["fernlink login-throttle list --data ./fernlink-data"],
  "login-throttle clear": ["fernlink login-throttle clear 203.0.113.7 --data ./fernlink-data"],
  "operator account add": ["FERNLINK_PASSWORD='…' fernlink operator account add acme --admin alice --data ./fernlink-data"],
  "operator account list": ["fernlink operator account list --since 2026-11-01 --data ./fernlink-data"],
  "operator account disable": ["fernlink operator account disable acme --data ./fernlink-data"],
  "operator account enable": ["fernlink operator account enable acme --data ./fernlink-data"],
  "operator account remove": ["fernlink operator account remove acme --yes --data ./fernlink-data"],
  "operator token add": ["fernlink operator token add billing-portal --data ./fernlink-data"],
  "operator token list": ["fernlink operator token list --data ./fernlink-data"],
  "operator token revoke": ["fernlink operator token revoke billing-portal --data ./fernlink-data"],
  "relay drain": ["fernlink relay drain relay-eu-1 --data ./fernlink-data"],
  "relay remove": ["fernlink relay remove relay-eu-1 --data ./fernlink-data"],
  connect: [
    "fernlink connect press-7 --forward 15020:192.168.1.10:502 --socks 11080",
    "fernlink connect press-7 --forward-udp 10161:192.168.1.10:161",
    "fernlink connect press-7 --forward 15020:192.168.1.10:502 --reason 'ticket 4711: recipe upload'",
  ],
  check: [
    "fernlink check --server https://fernlink.example.com --ca ca.pem",
    "FERNLINK_PROXY_PASSWORD='…' fernlink check --server https://fernlink.example.com --proxy http://press7@proxy.plant.local:3128 --json",
  ],
  audit: ["fernlink audit --device press-7 --since 2026-11-27 --limit 50"],
  "audit verify": ["fernlink audit verify"],
  "report connections": ["fernlink report connections --since 2026-11-01 --csv > connections.csv"],
  live: ["fernlink live"],
  "live close": ["fernlink live close 3f2a9c"],
  publish: ["fernlink publish press-7 --port 15020 --target 192.168.1.10:502 --allow-from 10.20.0.0/16 --name press-7-modbus"],
  "publish list": ["fernlink publish list --connections"],
  "publish pause": ["fernlink publish pause press-7-modbus"],
  "publish resume": ["fernlink publish resume press-7-modbus"],
  "publish remove": ["fernlink publish remove press-7-modbus"],
  "publish log": ["fernlink publish log press-7-modbus > press-7-modbus.log"],
  "notify channel add": [
    "FERNLINK_SMTP_PASSWORD='…' fernlink notify channel add ops-mail --email ops@example.com --smtp smtp://alerts@mail.example.com:587",
    "fernlink notify channel add ops-hook --webhook https://hooks.example.com/fernlink   # prints the signing secret once",
    "FERNLINK_SMS_URL='https://sms.example.com/send?key=K&to={to}&text={text}' fernlink notify channel add on-call --to +491701234567",
  ],
  "notify channel list": ["fernlink notify channel list"],
  "notify channel remove": ["fernlink notify channel remove ops-hook"],
  "notify channel test": ["fernlink notify channel test ops-mail"],
  "notify rule add": [
    "fernlink notify rule add --on device.offline --after 5m --channel ops-mail",
    "fernlink notify rule add --on alarm --severity critical --device press-7 --channel on-call",
  ],
  "notify rule list": ["fernlink notify rule list --json"],
  "notify rule remove": ["fernlink notify rule remove 3f0c9a4e-5b7d-4c1e-9a2b-0d6e8f1a2b3c"],
  "notify log": ["fernlink notify log"],
  "agent alarm": ['fernlink agent alarm --state /var/lib/fernlink --severity critical "spindle temperature 92 °C"'],
  "user add": ["FERNLINK_NEW_PASSWORD='…' fernlink user add bob --role member"],
  "user list": ["fernlink user list"],
  "user remove": ["fernlink user remove bob"],
  "user unlock": ["fernlink user unlock bob"],
  "user lock": ["fernlink user lock bob"],
  "user reset-password": ["FERNLINK_NEW_PASSWORD='…' fernlink user reset-password bob"],
  "user reset-otp": ["fernlink user reset-otp bob"],
  "user role": ["fernlink user role bob admin"],
  "user passwd": ["fernlink user passwd"],
  "session list": ["fernlink session list --json"],
  "session end": ["fernlink session end 5b1d0c7e-1f0a-4c55-9a43-0f6f3f8e2b11"],
  passwd: ["fernlink passwd"],
  "otp enable": ["fernlink otp enable"],
  "otp disable": ["fernlink otp disable --otp 123456"],
  "account policy": ["fernlink account policy --min-length 14 --lockout-after 5", "fernlink account policy --require-reason"],
  "device record": ["fernlink device record press-7 192.168.1.10:502 on"],
  "recording list": ["fernlink recording list"],
  "recording get": ["fernlink recording get 3f6c2a1e-8d4b-4c1a-9e2f-5b7d0a9c4e11 press-7-session.log"],
  "token add": ["fernlink token add backup-script --role member --expires-days 90"],
  "token list": ["fernlink token list"],
  "token revoke": ["fernlink token revoke backup-script"],
  "group add": ["fernlink group add service-team"],
  "group remove": ["fernlink group remove service-team"],
  "group list": ["fernlink group list"],
  "group members": ["fernlink group members service-team --add bob"],
  "pool add": ["fernlink pool add line-3"],
  "pool remove": ["fernlink pool remove line-3"],
  "pool list": ["fernlink pool list"],
  "pool devices": ["fernlink pool devices line-3 --add press-7"],
  "access grant": ["fernlink access grant --group service-team --pool line-3 --level connect --targets 192.168.1.10:502,80"],
  "access list": ["fernlink access list"],
  demo: ["fernlink demo --listen 127.0.0.1:18080"],
  "access revoke": ["fernlink access revoke --group service-team --pool line-3"],
};

/** How a command that dials the server finds its proxy. */
const PROXY_ENVIRONMENT = [
  "HTTPS_PROXY              http://[USER[:PASSWORD]@]HOST:PORT, when --proxy is not given",
  "NO_PROXY                 hosts reached without the proxy (host, .domain, host:port, *)",
  "FERNLINK_PROXY_PASSWORD  the proxy user's password (never on the command line)",
];

/** The environment variables a command reads, shown under its --help. */
export const ENVIRONMENT: Readonly<Record<string, readonly string[]>> = {
  server: [
    "FERNLINK_PASSWORD     password of --init-user (else asked for on a terminal)",
    "FERNLINK_DB           instead of --db, so a database password stays out of the process list",
    "FERNLINK_CLUSTER_KEY  path of the cluster key file, instead of --cluster-key",
  ],
  "server backup": [
    "FERNLINK_DB           instead of --db, so a database password stays out of the process list",
    "FERNLINK_CLUSTER_KEY  path of the cluster key file, instead of --cluster-key",
  ],
  "server restore": ["FERNLINK_DB  instead of --db: where a backup's pg_dump is restored to (a backup without one ignores it)"],
  login: [
    "FERNLINK_PASSWORD        your password (else asked for on a terminal)",
    "FERNLINK_CA              the CA file, instead of --ca",
    "FERNLINK_HOME            where the session is kept (default ~/.config/fernlink)",
    ...PROXY_ENVIRONMENT,
  ],
  connect: [...PROXY_ENVIRONMENT, "FERNLINK_REASON          the connect reason, instead of --reason"],
  "agent run": [...PROXY_ENVIRONMENT, "FERNLINK_MQTT_PASSWORD   password of the --alarm-mqtt broker's user"],
  "notify channel add": [
    "FERNLINK_SMTP_PASSWORD  the SMTP user's password (else asked for on a terminal)",
    "FERNLINK_SMS_URL        the SMS gateway URL template, instead of --sms-url (keeps its API key out of the process list)",
  ],
  check: ["FERNLINK_CA              the CA file, instead of --ca", ...PROXY_ENVIRONMENT],
  passwd: ["FERNLINK_PASSWORD      your current password", "FERNLINK_NEW_PASSWORD  the new one (else both are asked for on a terminal)"],
  "user add": ["FERNLINK_NEW_PASSWORD  the new user's first password (else asked for on a terminal)"],
  "operator account add": [
    "FERNLINK_PASSWORD     the first admin's password (else asked for twice on a terminal)",
    "FERNLINK_DB           instead of --db, so a database password stays out of the process list",
    "FERNLINK_CLUSTER_KEY  path of the cluster key file, when it is not in --data",
  ],
  "user reset-password": ["FERNLINK_NEW_PASSWORD  the one-time password (else asked for on a terminal)"],
  "user passwd": ["FERNLINK_PASSWORD      your current password", "FERNLINK_NEW_PASSWORD  the new one (else both are asked for on a terminal)"],
  "agent register": [
    "FERNLINK_ACTIVATION_KEY  the activation key, instead of --key (keeps it out of the process list)",
    "FERNLINK_CA              the CA file, instead of --ca",
    ...PROXY_ENVIRONMENT,
  ],
};

/** The path of a command below the program, e.g. "device add". */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Whether a command runs something itself (a leaf, or a group such as `audit` that also lists). */
export function runsItself(cmd: Command): boolean {
  // Commander keeps the handler private; reading it here is the one place that relies on it.
  return cmd.commands.length === 0 || (cmd as unknown as { _actionHandler: unknown })._actionHandler != null;
}

/**
 * An option's help line with its default shown once: a repeatable option starts as an empty
 * list, which says nothing, and its description says what applies when it is not given.
 */
export function optionDescription(this: Help, option: Option): string {
  if (Array.isArray(option.defaultValue) && option.defaultValue.length === 0) return option.description;
  return Help.prototype.optionDescription.call(this, option);
}

/** Adds examples and environment notes to every command's help. */
export function addHelpTexts(program: Command): void {
  const visit = (cmd: Command): void => {
    const path = commandPath(cmd);
    const sections: string[] = [];
    const env = ENVIRONMENT[path];
    if (env) sections.push(["Environment:", ...env.map((line) => `  ${line}`)].join("\n"));
    const examples = EXAMPLES[path];
    if (examples) sections.push([examples.length > 1 ? "Examples:" : "Example:", ...examples.map((line) => `  ${line}`)].join("\n"));
    if (sections.length > 0) cmd.addHelpText("after", `\n${sections.join("\n\n")}`);
    cmd.commands.forEach(visit);
  };
  program.commands.forEach(visit);
}
