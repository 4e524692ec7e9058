import { join, resolve } from "node:path";
import { text } from "node:stream/consumers";
import type { Command } from "commander";
import { parseAlarmListen } from "../../agent/alarm-http.js";
import { parseAlarmMqtt } from "../../agent/alarm-mqtt.js";
import { sendAlarm } from "../../agent/alarm-report.js";
import { startAlarmSources } from "../../agent/alarm-sources.js";
import { parseAllowRule } from "../../agent/allowlist.js";
import { checkInClient } from "../../agent/check-in.js";
import { keepaliveTiming } from "../../agent/keepalive-profile.js";
import { createKeySwitch } from "../../agent/key-switch-io.js";
import { runOnDemand } from "../../agent/on-demand.js";
import { onDemandTiming } from "../../agent/on-demand-options.js";
import { requestPublishedPorts } from "../../agent/publish-request.js";
import { runAgent } from "../../agent/run.js";
import { loadAgentState, STATE_FILES } from "../../agent/state.js";
import { lockAgentState } from "../../agent/state-lock.js";
import { DEFAULT_SWITCH_FILE, describeSwitchSource, parseSwitchSource } from "../../agent/switch-source.js";
import { readCa } from "../../client/client-state.js";
import { UsageError } from "../../protocol/errors.js";
import { parseSwitchText } from "../../protocol/key-switch.js";
import { SEVERITIES, type Severity } from "../../protocol/notify-events.js";
import { parseAgentPublish } from "../../protocol/published-ports.js";
import { RelayRegion } from "../../protocol/relay-link.js";
import { pathExists, writeFileAtomic } from "../../shared/files.js";
import { commandLogger, logFormat, logFormatOption } from "../log-format.js";
import { collect, signalController } from "../util.js";

/** `--publish N:HOST:PORT[,allow-from=CIDR][,udp]`, a usage error when malformed. */
function parsePublishFlag(text: string) {
  try {
    return parseAgentPublish(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

interface AgentRunFlags {
  state: string;
  allow: string[];
  region?: string;
  profile?: string;
  keepalive?: string;
  onDemand?: boolean;
  checkIn?: string;
  idle?: string;
  publish: string[];
  switch?: string;
  alarmListen?: string;
  alarmMqtt?: string;
  logFormat?: string;
}

/** "5 min" or "30 s". */
function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
}

/** `fernlink agent register|run|switch`: the machine side. */
export function registerAgentCommands(program: Command): void {
  const agent = program.command("agent").description("the agent in the machine LAN");

  agent
    .command("register")
    .description("make this agent's key pair and get its certificate with a one-time activation key")
    .requiredOption("--server <url>", "https://HOST:PORT of the Fernlink server")
    .option("--ca <file>", "CA certificate to trust (the server's ca.pem); or FERNLINK_CA")
    .option("--key <key>", "activation key from: fernlink device add; '-' reads it from stdin (default: FERNLINK_ACTIVATION_KEY)")
    .requiredOption("--state <dir>", "directory for the agent's key, certificate and settings")
    .action(async (flags: { server: string; ca?: string; key?: string; state: string }) => {
      if (!/^https:\/\//.test(flags.server)) throw new UsageError(`--server "${flags.server}" must start with https://`);
      const activationKey = flags.key === "-" ? (await text(process.stdin)).trim() : (flags.key ?? process.env["FERNLINK_ACTIVATION_KEY"]);
      if (!activationKey) throw new UsageError("no activation key: pass --key KEY, --key - (stdin) or set FERNLINK_ACTIVATION_KEY");
      const ca = await readCa(flags.ca ?? process.env["FERNLINK_CA"]);
      // Loaded on use: the X.509 code is only needed here.
      const { registerAgent } = await import("../../agent/register.js");
      const config = await registerAgent({ server: new URL(flags.server).origin, ca, activationKey, stateDir: resolve(flags.state) });
      process.stdout.write(
        `registered as device "${config.device}" of account "${config.account}"; start it with: fernlink agent run --state ${flags.state}\n`,
      );
    });

  agent
    .command("run")
    .description("keep the tunnel to the relay up and serve streams to allowed LAN targets")
    .requiredOption("--state <dir>", "the directory given to agent register")
    .option("--allow <cidr[:ports]>", "LAN range (and ports) the agent may dial (repeatable); default: the device's --lan ranges", collect, [])
    .option("--region <name>", "prefer relays of this region (as given to: fernlink relay add NAME --region R)")
    .option(
      "--publish <n:host:port[,allow-from=cidr][,udp]>",
      "ask the service to publish port N of its host for HOST:PORT in this LAN, a UDP port with ,udp (repeatable; " +
        "an admin must allow it: fernlink device agent-publish DEVICE allow)",
      collect,
      [],
    )
    .option(
      "--switch <source>",
      `the machine owner's key switch: file:PATH (holding off, online or remote) or command:CMD (run without a shell, printing one of them); ` +
        `default: DIR/${DEFAULT_SWITCH_FILE}, remote while absent`,
    )
    .option("--profile <name>", "keep-alive profile: default (PING every 15 s) or cellular (every 5 min, under 100 KB a day idle)")
    .option("--keepalive <seconds>", "seconds between keep-alive PINGs (overrides the profile's; the relay learns it from the PINGs)")
    .option("--on-demand", "hold no tunnel: check in every few minutes, connect only when a user or a published port asks")
    .option("--check-in <minutes>", "on demand: time between check-ins, minutes or with a unit (30s, 2m); default 5")
    .option("--idle <minutes>", "on demand: close the tunnel after this long without streams, unless still wanted; default 10")
    .option("--alarm-listen <host:port>", "take the machine's alarms on loopback: POST /alarm with JSON {severity, text}")
    .option("--alarm-mqtt <url>", "take the machine's alarms from a local MQTT broker: mqtt://HOST:PORT/TOPIC (JSON {severity, text} or plain text)")
    .addOption(logFormatOption())
    .action(async (flags: AgentRunFlags) => {
      const format = logFormat(flags.logFormat);
      const log = commandLogger("agent", format);
      if (flags.region !== undefined && !RelayRegion.safeParse(flags.region).success)
        throw new UsageError(`--region "${flags.region}" must be letters, digits, ".", "_" or "-"`);
      const allow = flags.allow.map(parseAllowRule);
      const publish = flags.publish.map(parsePublishFlag);
      const switchSource = parseSwitchSource(flags.switch, resolve(flags.state));
      const keepalive = keepaliveTiming(flags);
      if (!flags.onDemand && (flags.checkIn !== undefined || flags.idle !== undefined)) throw new UsageError("--check-in and --idle go with --on-demand");
      const onDemand = flags.onDemand ? onDemandTiming(flags) : undefined;
      const alarmListen = flags.alarmListen === undefined ? undefined : parseAlarmListen(flags.alarmListen);
      const alarmMqtt = flags.alarmMqtt === undefined ? undefined : parseAlarmMqtt(flags.alarmMqtt);
      const state = await loadAgentState(resolve(flags.state));
      const lock = await lockAgentState(resolve(flags.state));
      let stopAlarms = async (): Promise<void> => {};
      const unlock = async (): Promise<void> => {
        await stopAlarms();
        await lock();
      };
      if (alarmListen || alarmMqtt) {
        const mqttPassword = alarmMqtt?.username ? process.env["FERNLINK_MQTT_PASSWORD"] : undefined;
        const alarms = await startAlarmSources(state, { listen: alarmListen, mqtt: alarmMqtt, mqttPassword }, log).catch(async (err: unknown) => {
          await lock();
          throw new UsageError(`--alarm-listen ${flags.alarmListen}: ${(err as Error).message}`);
        });
        stopAlarms = alarms.stop;
        if (alarms.listening) process.stdout.write(`fernlink agent alarms: POST http://${alarms.listening}/alarm\n`);
      }
      // Read before anything is dialled: at off the agent must not even ask the service.
      const keySwitch = createKeySwitch(switchSource, log);
      log.info("key switch", { source: describeSwitchSource(switchSource), state: await keySwitch.start() });
      const controller = signalController();
      let announced = false;
      const options = {
        state,
        allow,
        log,
        signal: controller.signal,
        region: flags.region,
        keySwitch,
        keepalive,
        onConnected: (relay: string) => {
          if (!announced) process.stdout.write(`fernlink agent online: device "${state.config.device}" via ${relay}\n`);
          // Asked once the device is online, so its jobs' streams can open at once.
          if (!announced && publish.length > 0) void requestPublishedPorts(state, publish, log);
          announced = true;
        },
      };
      if (!onDemand) return runAgent(options).finally(unlock);
      process.stdout.write(`fernlink agent on demand: device "${state.config.device}" checks in every ${formatDuration(onDemand.checkInMs)}\n`);
      await runOnDemand({
        timing: onDemand,
        checkIn: checkInClient(state),
        log,
        signal: controller.signal,
        runTunnel: (signal, onStreamServer) => runAgent({ ...options, signal, onStreamServer }),
      }).finally(unlock);
    });

  agent
    .command("alarm")
    .description("raise an alarm of the machine: the service notifies by its alarm rules (sent with the device certificate of DIR)")
    .argument("<text>", "what happened, one line")
    .requiredOption("--state <dir>", "the agent's state directory")
    .option("--severity <level>", "info, warning or critical", "warning")
    .action(async (message: string, flags: { state: string; severity: string }) => {
      if (!SEVERITIES.includes(flags.severity as Severity)) throw new UsageError(`--severity "${flags.severity}" must be one of: ${SEVERITIES.join(", ")}`);
      if (message.trim() === "" || message.length > 1000) throw new UsageError("the alarm text must be 1 to 1000 characters");
      const dir = resolve(flags.state);
      if (!(await pathExists(join(dir, STATE_FILES.config))))
        throw new UsageError(
          `--state "${flags.state}" is not an agent's state directory (no ${STATE_FILES.config}); give the DIR of: fernlink agent run --state DIR`,
        );
      const answer = await sendAlarm(await loadAgentState(dir), { severity: flags.severity as Severity, text: message });
      process.stdout.write(`alarm sent (${flags.severity}); ${answer.queued} notification${answer.queued === 1 ? "" : "s"} queued\n`);
    });

  agent
    .command("switch")
    .description("turn the key switch of the agent using DIR (off: no connection; online: visible, no streams; remote: access as the rules allow)")
    .argument("<position>", "off, online or remote")
    .requiredOption("--state <dir>", "the agent's state directory (the agent reads DIR/switch unless started with --switch)")
    .action(async (position: string, flags: { state: string }) => {
      const parsed = parseSwitchText(position);
      if (parsed === undefined || parsed !== position) throw new UsageError(`switch position "${position}" must be off, online or remote`);
      const dir = resolve(flags.state);
      if (!(await pathExists(join(dir, STATE_FILES.config))))
        throw new UsageError(
          `--state "${flags.state}" is not an agent's state directory (no ${STATE_FILES.config}); give the DIR of: fernlink agent run --state DIR`,
        );
      const path = join(dir, DEFAULT_SWITCH_FILE);
      // Written by rename, so the agent never reads half a word; readable by all, it holds no secret.
      await writeFileAtomic(path, `${parsed}\n`, 0o644);
      process.stdout.write(`key switch of ${flags.state} set to ${parsed}\n`);
    });
}
