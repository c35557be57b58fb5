/**
 * Runs every listing of chapter 7 (examples/07-sockets/) as a real
 * process, with its own IPC_PREFIX, and checks what it printed, its exit
 * code, and that it left nothing behind: no temporary folder (and so no
 * socket file), no socket in /proc/net/unix with the prefix in its name,
 * and no process it started. Measured numbers are printed, never
 * asserted.
 */
import { describe, expect } from "bun:test";
import { listings } from "./support.ts";

const { listing, everyListingRun, prefix } = listings("examples/07-sockets", { leaks: ["processes", "tmp", "sockets"] });

describe("chapter 7 listings", () => {
  listing("echo-server.ts", ({ stdout }) => {
    expect(stdout).toContain("echo.sock: a socket file (isSocket true), mode 600, size 0");
    expect(stdout).toContain("/proc/net/unix: 1 socket bound to it, listening: true");
    for (const n of [1, 2, 3]) expect(stdout).toContain(`client ${n} got: echo: hello from client ${n}`);
    expect(stdout).toContain("the server served 3 connections");
    expect(stdout).toContain("after stop: echo.sock exists: false");
  });

  listing("kinds.ts", ({ stdout }) => {
    expect(stdout).toMatch(/^stream\s+1 read\(s\): "onetwothree"$/m);
    expect(stdout).toMatch(/^datagram\s+3 read\(s\): "one" "two" "three"$/m);
    expect(stdout).toMatch(/^seqpacket 3 read\(s\): "one" "two" "three"$/m);
  });

  listing("socketpair.ts", ({ stdout }) => {
    const [parent, child] = stdout.match(/parent (\d+) got: HELLO, CHILD, says child (\d+)/)!.slice(1);
    expect(stdout).toContain(`SO_PEERCRED says the peer is ${parent}: the process that called socketpair, not the child ${child}`);
  });

  listing("abstract.ts", ({ stdout }) => {
    expect(stdout).toMatch(new RegExp(`bound to @${prefix}-clock-(\\d+); /proc/net/unix lists it: @${prefix}-clock-\\1`));
    expect(stdout).toContain("the client got: 2024-04-15T10:30:00.000Z");
    expect(stdout).toContain("after close: the listening socket is listed: false");
  });

  listing("framing.ts", ({ stdout }) => {
    expect(stdout).toContain('unframed, one read: "buy 10sell 5buy 2"');
    expect(stdout).toContain("on the wire: 00000006 627579203130 00000006 73656c6c2035 00000005 6275792032");
    expect(stdout).toContain('framed, message by message: "buy 10", "sell 5", "buy 2"');
  });

  listing("pass-fd.ts", ({ stdout }) => {
    expect(stdout).toMatch(/broker \d+: read "header: orders of the day\\n", removed the name, sends descriptor \d+/);
    expect(stdout).toMatch(/client \d+: "orders" came with descriptor \d+ -> \S+\/orders\.txt \(deleted\)/);
    expect(stdout).toContain('client reads on: "buy 10\\nsell 5\\n"');
  });

  listing("peer-credentials.ts", ({ stdout }) => {
    const uid = process.getuid!();
    const pid = stdout.match(/\(the client's pid was (\d+)\)/)![1];
    expect(stdout).toContain(`server: a connection from pid ${pid}, uid ${uid}, gid ${process.getgid!()}`);
    expect(stdout).toContain(`client uid ${uid}: welcome, process ${pid}`);
    if (uid === 0 && Bun.which("setpriv") !== null) {
      expect(stdout).toMatch(/server: a connection from pid \d+, uid 65534, gid 65534/);
      expect(stdout).toContain("client uid 65534: the server hung up without a word");
      expect(stdout).toContain("private.sock has mode 600");
      expect(stdout).toContain("client uid 65534: connect failed with EACCES");
    } else {
      expect(stdout).toContain("the tries as user nobody are skipped");
    }
  });

  listing("stale.ts", ({ stdout }) => {
    expect(stdout).toContain("server killed; app.sock still exists: true");
    expect(stdout).toMatch(/a client connects: ECONNREFUSED — .*stale socket file/);
    expect(stdout).toMatch(/a new server binds without removing it: EADDRINUSE/);
    expect(stdout).toContain("a new server with removeStale (the default): listening");
    expect(stdout).toMatch(/a second server while the first lives: EADDRINUSE — stop that server first/);
  });

  listing("postgres.ts", ({ stdout }) => {
    expect(stdout).toMatch(/server \d+: listening on \.s\.PGSQL\.5432, lock file \.s\.PGSQL\.5432\.lock/);
    expect(stdout).toMatch(/server: start-up from pid \d+: protocol 3\.0, user alice, database shop/);
    expect(stdout).toContain("client: the server answered 'E': FATAL 08004: this is not PostgreSQL, only a toy that speaks its start-up");
    if (Bun.which("psql") !== null) {
      expect(stdout).toMatch(/psql \(exit 2\): .*\$DIR\/\.s\.PGSQL\.5432.*FATAL: +this is not PostgreSQL/);
    } else {
      expect(stdout).toContain("psql is not installed");
    }
  });

  listing("unix-vs-tcp.ts", ({ stdout }) => {
    console.log(`unix-vs-tcp measured: ${stdout.trim().replace(/\n/g, " | ")}`);
    expect(stdout).toContain("500 round trips of 64 bytes, then 4 MiB in 64 KiB writes, to another process:");
    expect(stdout).toMatch(/^unix\s+[\d.]+ µs per round trip\s+\d+ MiB\/s$/m);
    expect(stdout).toMatch(/^tcp\s+[\d.]+ µs per round trip\s+\d+ MiB\/s$/m);
  }, { args: ["500", "4"] });

  everyListingRun();
});
