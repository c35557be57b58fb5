/**
 * The writers in the pipe tests, run as separate processes:
 *
 *   bun pipes-child.ts records COUNT SIZE TAG   COUNT records of SIZE bytes to stdout, one write(2) each:
 *                                               "TAG seq " then the tag's letter repeated, then "\n"
 *   bun pipes-child.ts fifo PATH COUNT TAG      opens the FIFO for writing and writes COUNT such lines of 100 to 3000 bytes
 */
import { Fifo, PipeEnd } from "../../lib/index.ts";

const [mode, ...args] = process.argv.slice(2);

/** One record: "TAG SEQ " padded with the tag's first letter to `size` bytes, the last one "\n". */
export function record(tag: string, seq: number, size: number): Uint8Array {
  const head = `${tag} ${seq} `;
  return new TextEncoder().encode(head + tag[0]!.repeat(size - head.length - 1) + "\n");
}

if (import.meta.main) {
  if (mode === "records") {
    const [count, size, tag] = [Number(args[0]), Number(args[1]), args[2]!];
    const out = new PipeEnd(1, "write", "stdout");
    for (let i = 0; i < count; i++) out.write(record(tag, i, size));
  } else if (mode === "fifo") {
    const [path, count, tag] = [args[0]!, Number(args[1]), args[2]!];
    using out = new Fifo(path).open("write");
    for (let i = 0; i < count; i++) out.write(record(tag, i, 100 + ((i * 977) % 2900)));
  } else {
    console.error(`unknown mode ${mode}`);
    process.exit(2);
  }
}
