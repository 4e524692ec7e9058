/**
 * How much each end of a carried TCP stream buffers in user space before it holds its source
 * back: the highWaterMark of the TCP sockets at either end (a client's local connection, an
 * agent's connection to its target), of each MovableStream, and the write budget on a lane.
 *
 * Node's default, 16 KiB, is one TLS record: a relay that may queue only one record before it
 * waits for the write to finish handles each record in an event-loop turn of its own, with a
 * write syscall and a JS round trip per 16 KiB. With 256 KiB the chunks that arrive while a write
 * is under way go out together in the next one (strace of the relay during an upload: one
 * 16 KiB write per 16 KiB read before, one write per ~260 KB after). One upload through
 * client, relay and agent on loopback went from 2.1–2.4 to 3.0–3.2 Gbit/s on the same
 * CPU; 1 MiB gained nothing more.
 *
 * A stream whose reader stops holds at most this much per buffer it crosses, on top of the
 * HTTP/2 stream windows or the lane's TCP buffers.
 */
export const STREAM_BUFFER_BYTES = 256 * 1024;
