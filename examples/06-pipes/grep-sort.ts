/**
 * grep-sort.ts — the lecture's pipeline, `grep ro /etc/passwd | sort`,
 * built by hand: one pipe, two programs started with their descriptors
 * redirected to its ends, no shell. Then the same with the library's
 * pipeline(), and a comparison with what the shell prints.
 *
 * Run:  bun run examples/06-pipes/grep-sort.ts
 */
import { describeStatus, Pipe, pipeline, spawn } from "../../lib/index.ts";

// ANCHOR: by-hand
using link = new Pipe(); // grep → sort
using result = new Pipe(); // sort → us
using grep = spawn(["grep", "ro", "/etc/passwd"], { stdout: link.writer.fd }); // dup2(link's write end, 1)
using sort = spawn(["sort"], { stdin: link.reader.fd, stdout: result.writer.fd }); // dup2(read end, 0), dup2(…, 1)
link.close(); // both ends: the children have their copies; ours would keep sort from ever seeing end of file
result.writer.close();
const byHand = await result.reader.text();
console.log(`grep ${describeStatus(await grep.exited())}, sort ${describeStatus(await sort.exited())}`);
process.stdout.write(byHand);
// ANCHOR_END: by-hand

// ANCHOR: library
using line = pipeline([["grep", "ro", "/etc/passwd"], ["sort"]]);
const { stdout } = await line.result();
// ANCHOR_END: library

// ANCHOR: shell
const shell = Bun.spawnSync(["sh", "-c", "grep ro /etc/passwd | sort"]).stdout.toString();
console.log(`by hand = pipeline() = the shell: ${byHand === stdout && stdout === shell}`);
// ANCHOR_END: shell
