import { RECORDING_BYTES, RECORDINGS_PER_ACCOUNT, type RecordingInfo, type RecordingReader } from "../protocol/api-recordings.js";
import { DataLog } from "./data-log.js";

/** What a recording is of. */
export interface RecordingSubject {
  id: string;
  accountId: string;
  user: string;
  device: string;
  target: string;
  startedAt: Date;
}

interface Recording extends RecordingSubject {
  endedAt: Date | undefined;
  log: DataLog;
}

/**
 * The bytes of recorded streams, in the relay's memory like published ports' data logs: each
 * stream's newest `capacity` bytes, and per account the newest `perAccount` streams (the oldest
 * is dropped when another starts). Lost when the process ends, by design: nothing of a session's
 * payload is written to disk.
 */
export class RecordingStore implements RecordingReader {
  private readonly byAccount = new Map<string, Recording[]>();

  constructor(
    private readonly perAccount = RECORDINGS_PER_ACCOUNT,
    private readonly capacity = RECORDING_BYTES,
  ) {}

  /** Starts recording a stream; returns where its chunks go. */
  start(subject: RecordingSubject): DataLog {
    const recording: Recording = { ...subject, endedAt: undefined, log: new DataLog(this.capacity) };
    const list = this.byAccount.get(subject.accountId) ?? [];
    list.push(recording);
    while (list.length > this.perAccount) list.shift();
    this.byAccount.set(subject.accountId, list);
    return recording.log;
  }

  /** Notes the end of a stream (its recording stays). */
  end(accountId: string, id: string, at: Date): void {
    const recording = this.byAccount.get(accountId)?.find((r) => r.id === id);
    if (recording) recording.endedAt = at;
  }

  list(accountId: string): RecordingInfo[] {
    return (this.byAccount.get(accountId) ?? [])
      .map((r) => ({
        id: r.id,
        user: r.user,
        device: r.device,
        target: r.target,
        start: r.startedAt.toISOString(),
        end: r.endedAt?.toISOString() ?? null,
        bytes: r.log.size,
        dropped: r.log.droppedBytes,
      }))
      .reverse();
  }

  text(accountId: string, id: string): string | undefined {
    const r = this.byAccount.get(accountId)?.find((x) => x.id === id);
    return r?.log.format(`stream ${r.id} (${r.user} to ${r.device}/${r.target}, from ${r.startedAt.toISOString()})`);
  }
}
