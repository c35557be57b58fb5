/**
 * Runs every listing of chapter 6 (examples/06-pipes/) as a real
 * process, with its own IPC_PREFIX, and checks what it printed, its exit
 * code, and that it left nothing behind: no object in /dev/shm, no
 * temporary folder, and no process in its process group (each listing
 * leads a group of its own; the FIFOs live in temporary folders, which
 * must be gone too). A listing file no test runs fails the last test.
 */
import { describe, expect } from "bun:test";
import { listings } from "./support.ts";

const { listing, everyListingRun } = listings("examples/06-pipes", { leaks: ["shm", "tmp"], processGroup: true });

describe("chapter 6 listings", () => {
  listing("pipe-basics.ts", ({ stdout }) => {
    expect(stdout).toMatch(/^read end: descriptor \d+, write end: descriptor \d+$/m);
    expect(stdout).toContain('read: "first, second\\n"');
    expect(stdout).toContain("capacity: 65536 bytes (F_GETPIPE_SZ); PIPE_BUF: 4096 bytes");
    expect(stdout).toContain("after 65536 bytes: EAGAIN — the pipe is full and nobody reads");
    expect(stdout).toContain("capacity now: 262144 bytes; one more write fits: 1 byte");
  });

  listing("parent-child.ts", ({ stdout }) => {
    expect(stdout).toBe("A PIPE CONNECTS RELATED PROCESSES\nONE WRITES, THE OTHER READS\ntr exited with code 0\n");
  });

  listing("end-of-file.ts", ({ stdout }) => {
    expect(stdout).toBe(
      [
        "our write end still open: sort is still waiting after 0.5 s",
        "apple",
        "fig",
        "pear",
        "sort exited with code 0",
        "without close-on-exec: sort waits for ever; besides its stdin it holds 2 more descriptors of that pipe (both ends)",
        "sort killed by SIGKILL",
        "",
      ].join("\n"),
    );
  });

  listing("broken-pipe.ts", ({ stdout }) => {
    expect(stdout).toContain('read "y\\n", closed the read end; yes killed by SIGPIPE');
    expect(stdout).toContain("this Bun process: EPIPE from write, and it lives on");
    expect(stdout).toMatch(/^ {2}hint: the read end is closed: .*SIGPIPE/m);
  });

  listing("grep-sort.ts", ({ stdout }) => {
    const shell = Bun.spawnSync(["sh", "-c", "grep ro /etc/passwd | sort"]).stdout.toString();
    expect(stdout).toBe(`grep exited with code 0, sort exited with code 0\n${shell}by hand = pipeline() = the shell: true\n`);
  });

  listing("fifo-open.ts", ({ stdout }) => {
    expect(stdout).toMatch(/^ls -l: prw------- 1 \S+ \S+ 0 .* DIR\/greetings$/m);
    expect(stdout).toContain("a non-blocking writer with no reader: ENXIO");
    expect(stdout).toMatch(/^hello from process \d+, which only knew the path$/m);
    expect(stdout).toContain("the writer has exited; the FIFO is still there: true");
    expect(stdout).toContain("after unlink: false");
    expect(stdout).toMatch(/^a regular file in its place: InvalidError: open on "DIR\/not-a-fifo": EINVAL \(.*is a regular file, not a FIFO\)/m);
  });

  listing("fifo-server.ts", ({ stdout }) => {
    expect(stdout).toBe("lines per client: ada 200, bob 200, cy 200, dee 200; torn or out of order: 0\n");
  });

  listing("acknowledged.ts", ({ stdout }) => {
    const blocks = stdout.split(/\n(?=\S)/);
    expect(blocks[0]).toBe("synchronous: sent 10 of 10, acknowledged 10; receiver exited 0\n  not acknowledged (lost, or done but not confirmed): none");
    expect(blocks[1]).toBe(
      "synchronous: sent 5 of 10, acknowledged 4; receiver killed by SIGKILL\n" +
        "  noticed: no acknowledgement for message 5: end of file on the reply pipe\n" +
        "  not acknowledged (lost, or done but not confirmed): 5",
    );
    // Sending ahead, the sender may or may not have written everything before the receiver died.
    expect(blocks[2]).toMatch(/^asynchronous: sent (\d+) of 10, acknowledged 4; receiver killed by SIGKILL\n {2}noticed: (end of file on the reply pipe after 4 acknowledgements|EPIPE sending message \d+): the receiver is gone\n {2}not acknowledged \(lost, or done but not confirmed\): 5, 6/);
  });

  everyListingRun();
});
