/**
 * How much each end of a carried TCP stream buffers in user space before it holds its source
 * back: the highWaterMark of the TCP sockets at either end (a client's local connection, an
 * agent's connection to its target), of each MovableStream, and the write budget on a lane.
 *
 * Node 20's default, 16 KiB, is one TLS record: a relay that may queue only one record before it
 * waits for the write to finish handles each record in an event-loop turn of its own, with a
 * write syscall and a JS round trip per 16 KiB (strace of the relay during an upload: one
 * 16 KiB write per 16 KiB read). With more, the chunks that arrive while a write is under way go
 * out together in the next one. 64 KiB (Node 22's default) took one bulk stream through client,
 * relay and agent from 1.8 to 1.9 Gbit/s up and 1.9–2.1 to 2.3–2.7 down in the bench; 256 KiB
 * gained about 10 % more but almost doubled the p99 of a ping-pong beside a bulk download
 * (43–45 ms against 24–29 ms at 16 and 64 KiB).
 *
 * A stream whose reader stops holds at most this much per buffer it crosses, on top of the
 * HTTP/2 stream windows or the lane's TCP buffers.
 */
export const STREAM_BUFFER_BYTES = 64 * 1024;
