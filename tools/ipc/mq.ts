/**
 * `ipc mq …`: create, send to, receive from, inspect and remove POSIX
 * message queues, through lib/mq.ts.
 */
import { MessageQueue } from "../../lib/mq.ts";
import {
  EXIT,
  Failure,
  flag,
  dataArg,
  hexDump,
  integerArg,
  CREATE_OPTIONS,
  createOptions,
  createOptionsHelp,
  nameArg,
  note,
  option,
  out,
  outBytes,
  secondsArg,
  unlinkVerb,
  UsageError,
  waiting,
  withHints,
  type Parsed,
  type Verb,
} from "./cli.ts";
import { listQueues, queueFile } from "./ls.ts";

/** Opens an existing queue; a missing one gets the command-line hint. */
function openQueue(name: string, access: "read" | "write", nonBlocking = false): MessageQueue {
  return withHints(() => new MessageQueue(name, { access, nonBlocking }), { notFound: `there is no queue of this name; create it with \`ipc mq create ${name}\`` });
}

const create: Verb = {
  name: "mq create",
  summary: "Create a POSIX message queue (mq_open with O_CREAT); an existing one is left as it is.",
  usage: "mq create NAME [--maxmsg N] [--msgsize N] [--mode 600] [--exclusive]",
  details: `Options:
  --maxmsg N     messages the queue holds (default /proc/sys/fs/mqueue/msg_default;
                 at most msg_max without privilege)
  --msgsize N    largest message in bytes (default msgsize_default; at most msgsize_max)
${createOptionsHelp("queue")}

Each queue reserves about maxmsg × msgsize bytes of your user's RLIMIT_MSGQUEUE
(ulimit -q) for as long as it exists: keep test queues small.`,
  options: { maxmsg: { type: "string" }, msgsize: { type: "string" }, ...CREATE_OPTIONS },
  positionals: { names: ["NAME"], min: 1 },
  run(args: Parsed): number {
    const name = nameArg(args.positionals[0]!, "mq_open");
    const maxmsgText = option(args, "maxmsg");
    const msgsizeText = option(args, "msgsize");
    const maxmsg = maxmsgText === undefined ? undefined : integerArg(maxmsgText, "--maxmsg", 1);
    const msgsize = msgsizeText === undefined ? undefined : integerArg(msgsizeText, "--msgsize", 1);
    const { mode, exclusive } = createOptions(args);
    const existed = !exclusive && MessageQueue.exists(name);
    using queue = withHints(() => new MessageQueue(name, { create: true, exclusive, mode, maxmsg, msgsize, access: "read" }), {
      exists: `a queue of this name exists already; drop --exclusive, or remove it with \`ipc mq rm ${name}\``,
    });
    if (existed) note(`ipc mq create: ${name} existed already; left as it was (maxmsg ${queue.maxmsg}, msgsize ${queue.msgsize})`);
    return EXIT.OK;
  },
};

const send: Verb = {
  name: "mq send",
  summary: "Send one message to a queue (mq_timedsend). MESSAGE - reads the message from standard input, byte for byte.",
  usage: "mq send NAME (MESSAGE | -) [--priority P] [--timeout S] [--hex]",
  details: `MESSAGE is sent as its UTF-8 bytes, with no newline added. With -, standard input
is read to its end and sent exactly as it is, binary data included (so
\`echo hi | ipc mq send /q -\` sends three bytes, the newline too).

Options:
  --priority P   0 (default) to 32767; higher priorities are received first
  --timeout S    seconds to wait while the queue is full (default: wait for ever;
                 0: do not wait); running out exits with status 3
  --hex          MESSAGE is hex digits ("de ad be ef"), not text`,
  options: { priority: { type: "string" }, timeout: { type: "string" }, hex: { type: "boolean" } },
  positionals: { names: ["NAME", "MESSAGE"], min: 2 },
  async run(args: Parsed): Promise<number> {
    const name = nameArg(args.positionals[0]!, "mq_open");
    const text = args.positionals[1]!;
    const priorityText = option(args, "priority");
    const priority = priorityText === undefined ? 0 : integerArg(priorityText, "--priority", 0);
    const timeoutText = option(args, "timeout");
    const timeout = timeoutText === undefined ? undefined : secondsArg(timeoutText, "--timeout");
    const data = await dataArg(text, flag(args, "hex"));
    using queue = openQueue(name, "write");
    waiting(
      () => queue.send(data, { priority, timeout }),
      timeout === 0 ? "the queue is full and --timeout 0 does not wait" : `the queue stayed full for ${timeout} s: is anyone receiving?`,
    );
    return EXIT.OK;
  },
};

const receive: Verb = {
  name: "mq receive",
  summary: "Take the oldest message of the highest priority from a queue (mq_timedreceive) and print it.",
  usage: "mq receive NAME [--timeout S] [--nonblock] [--verbose] [--hex]",
  details: `The message's bytes go to standard output exactly as they were sent (a terminal
gets a newline after a message that lacks one).

Options:
  --timeout S    seconds to wait while the queue is empty (default: wait for ever)
  --nonblock     do not wait: an empty queue exits at once (O_NONBLOCK)
  --verbose, -v  then print the message's size and priority ("size 5, priority 3")
                 on standard error, so that standard output stays the message
  --hex          print the message as a hex dump instead of raw bytes

An empty queue after --timeout or with --nonblock exits with status 3.`,
  options: { timeout: { type: "string" }, nonblock: { type: "boolean" }, verbose: { type: "boolean", short: "v" }, hex: { type: "boolean" } },
  positionals: { names: ["NAME"], min: 1 },
  run(args: Parsed): number {
    const name = nameArg(args.positionals[0]!, "mq_open");
    const timeoutText = option(args, "timeout");
    const nonblock = flag(args, "nonblock");
    if (nonblock && timeoutText !== undefined) throw new UsageError("give either --nonblock or --timeout, not both");
    const timeout = nonblock ? 0 : timeoutText === undefined ? undefined : secondsArg(timeoutText, "--timeout");
    using queue = openQueue(name, "read", nonblock);
    const message = waiting(
      () => queue.receive({ timeout }),
      timeout === 0 ? `the queue is empty and ${nonblock ? "--nonblock" : "--timeout 0"} does not wait` : `no message came within ${timeout} s: is anyone sending?`,
    );
    if (flag(args, "hex")) out(hexDump(message.data));
    else outBytes(message.data);
    if (flag(args, "verbose")) note(`size ${message.size}, priority ${message.priority}`);
    return EXIT.OK;
  },
};

const attr: Verb = {
  name: "mq attr",
  summary: "Show a queue's attributes (mq_getattr) and what /dev/mqueue says about it.",
  usage: "mq attr NAME [--json]",
  details: `Prints maxmsg, msgsize, the messages queued (curmsgs), the bytes queued (QSIZE),
the process registered with mq_notify (0: none), the owner and the mode.

Options:
  --json   the same as one JSON object`,
  options: { json: { type: "boolean" } },
  positionals: { names: ["NAME"], min: 1 },
  run(args: Parsed): number {
    const name = nameArg(args.positionals[0]!, "mq_open");
    using queue = openQueue(name, "read", true);
    const a = queue.attributes();
    const file = queueFile(name);
    const listed = listQueues().find((q) => q.name === name);
    const info = {
      name,
      maxmsg: a.maxmsg,
      msgsize: a.msgsize,
      messages: a.curmsgs,
      bytes: file?.QSIZE ?? null,
      notifyPid: file?.NOTIFY_PID ?? null,
      owner: listed?.owner ?? null,
      mode: listed?.mode ?? null,
    };
    if (flag(args, "json")) {
      out(`${JSON.stringify(info, null, 2)}\n`);
    } else {
      out(
        [
          `name      ${info.name}`,
          `maxmsg    ${info.maxmsg}`,
          `msgsize   ${info.msgsize}`,
          `messages  ${info.messages}`,
          `bytes     ${info.bytes ?? "-"}`,
          `notify    ${info.notifyPid === null ? "-" : info.notifyPid === 0 ? "none" : `pid ${info.notifyPid}`}`,
          `owner     ${info.owner ?? "-"}`,
          `mode      ${info.mode ?? "-"}`,
          "",
        ].join("\n"),
      );
    }
    return EXIT.OK;
  },
};

const rm = unlinkVerb("mq rm", "Remove a queue's name (mq_unlink); the queue goes when its last descriptor is closed.", "mq_unlink", (name) =>
  MessageQueue.unlink(name),
);

/** The verbs of `ipc mq`. */
export const mqVerbs: Verb[] = [create, send, receive, attr, rm];
