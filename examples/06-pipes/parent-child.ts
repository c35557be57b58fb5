/**
 * parent-child.ts — the classic use of a pipe: between a parent and the
 * child it starts. Two pipes: one into the child's standard input, one out
 * of its standard output. The child is `tr a-z A-Z`, a program that knows
 * nothing about pipes: it reads descriptor 0 and writes descriptor 1.
 *
 * Run:  bun run examples/06-pipes/parent-child.ts
 */
import { describeStatus, Pipe, spawn } from "../../lib/index.ts";

// ANCHOR: child
using toChild = new Pipe();
using fromChild = new Pipe();
using child = spawn(["tr", "a-z", "A-Z"], { stdin: toChild.reader.fd, stdout: fromChild.writer.fd });
toChild.reader.close(); // the child has its copy; ours would be an unused end
fromChild.writer.close();

toChild.writer.write("a pipe connects related processes\n");
toChild.writer.write("one writes, the other reads\n");
toChild.writer.close(); // end of file for tr: it finishes and exits

const answer = await fromChild.reader.text(); // until end of file: tr has closed its stdout
process.stdout.write(answer);
console.log(`tr ${describeStatus(await child.exited())}`);
// ANCHOR_END: child
