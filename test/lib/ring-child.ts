/**
 * The other processes of the ring tests: started by test/lib/ring.test.ts
 * as `bun ring-child.ts ROLE NAME ...ARGS`. Items carry their sequence
 * number and a checksum (see ring-items.ts); a consumer checks both and
 * prints one JSON summary line when the stream ends.
 *
 *   consume NAME [stopAfter]   read to the end; with stopAfter, stop reading
 *                              after that many items and wait to be killed
 *   work NAME [delayMs]        work-sharing: claim and ack to the end
 *   claim-and-hang NAME        work-sharing: claim one item, say which, wait to be killed
 *   produce NAME COUNT SIZE [stopAfter]  produce COUNT items, then end; with
 *                              stopAfter, stop after that many and wait to be killed
 *   idle NAME                  register and wait (for the CPU-time check)
 */
import { Ring } from "../../lib/index.ts";
import { checkItem, makeItem } from "./ring-items.ts";

const [role, name, ...args] = process.argv.slice(2);
const ring = Ring.open(name!);

async function forever(): Promise<never> {
  for (;;) await Bun.sleep(1000);
}

function say(what: unknown): void {
  process.stdout.write(`${JSON.stringify(what)}\n`);
}

switch (role) {
  case "consume": {
    const stopAfter = args[0] === undefined ? Infinity : Number(args[0]);
    const consumer = ring.consumer();
    say({ ready: consumer.index });
    const seen: number[] = [];
    let torn = 0;
    for (;;) {
      if (seen.length === stopAfter) {
        say({ stopped: seen.length });
        await forever();
      }
      const item = consumer.read(30);
      if (item === null) break;
      const checked = checkItem(item);
      if (checked === null) torn++;
      else seen.push(checked);
    }
    say({ seen: seen.length, first: seen[0], last: seen.at(-1), inOrder: seen.every((s, i) => i === 0 || s === seen[i - 1]! + 1), torn });
    consumer.close();
    break;
  }
  case "work": {
    const delay = Number(args[0] ?? 0);
    const consumer = ring.consumer();
    say({ ready: consumer.index });
    const seen: number[] = [];
    let torn = 0;
    for (;;) {
      const item = consumer.claim(30);
      if (item === null) break;
      const checked = checkItem(item);
      if (checked === null) torn++;
      else seen.push(checked);
      if (delay > 0) Bun.sleepSync(delay);
      consumer.ack();
    }
    say({ seqs: seen, torn });
    consumer.close();
    break;
  }
  case "claim-and-hang": {
    const consumer = ring.consumer();
    say({ ready: consumer.index });
    const item = consumer.claim(30);
    say({ holding: item === null ? null : checkItem(item) });
    await forever();
    break;
  }
  case "produce": {
    const [countText, sizeText, stopText] = args;
    const producer = ring.producer();
    say({ producing: process.pid });
    const total = Number(countText);
    const stopAfter = stopText === undefined ? Infinity : Number(stopText);
    for (let seq = 0; seq < total; seq++) {
      if (seq === stopAfter) {
        say({ stopped: seq });
        await forever();
      }
      producer.write(makeItem(seq, Number(sizeText)), 30);
    }
    producer.end();
    producer.close();
    say({ produced: total });
    break;
  }
  case "idle": {
    const consumer = ring.consumer();
    say({ ready: consumer.index });
    try {
      consumer.read(Number(args[0] ?? 1));
    } catch (error) {
      say({ ended: (error as Error).name });
    }
    consumer.close();
    break;
  }
  default:
    throw new Error(`unknown role ${role}`);
}
ring.close();
