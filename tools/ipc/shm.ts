/**
 * `ipc shm …`: create, write, read and remove POSIX shared-memory objects,
 * through lib/shm.ts.
 */
import { SharedMemory } from "../../lib/shm.ts";
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
  unlinkVerb,
  withHints,
  type Parsed,
  type Verb,
} from "./cli.ts";

/** Opens an existing object; a missing one gets the command-line hint. */
function openShm(name: string, readOnly: boolean): SharedMemory {
  return withHints(() => new SharedMemory(name, { readOnly }), {
    notFound: `there is no shared-memory object of this name; create it with \`ipc shm create ${name} SIZE\``,
  });
}

/** The range [offset, offset + length) of an object of `size` bytes, or a clear failure. */
function checkRange(name: string, size: number, offset: number, length: number, what: string): void {
  if (offset > size) throw new Failure(`--offset ${offset} is past the end of ${name}, which has ${size} bytes`);
  if (offset + length > size) {
    throw new Failure(
      `${what} ${length} bytes at offset ${offset} would run past the end of ${name}, which has ${size} bytes; ` +
        `make it larger first with \`ipc shm create ${name} ${offset + length}\``,
    );
  }
}

const create: Verb = {
  name: "shm create",
  summary: "Create a POSIX shared-memory object of SIZE bytes (shm_open with O_CREAT, then ftruncate).",
  usage: "shm create NAME SIZE [--mode 600] [--exclusive]",
  details: `New bytes read as zero. If the object exists already it is resized to SIZE
(bytes past SIZE are lost), unless --exclusive makes that an error.

Options:
${createOptionsHelp("object")}`,
  options: CREATE_OPTIONS,
  positionals: { names: ["NAME", "SIZE"], min: 2 },
  run(args: Parsed): number {
    const name = nameArg(args.positionals[0]!, "shm_open");
    const size = integerArg(args.positionals[1]!, "SIZE", 0);
    const { mode, exclusive } = createOptions(args);
    const existed = !exclusive && SharedMemory.exists(name);
    const before = existed ? openShm(name, true) : undefined;
    const oldSize = before?.size;
    before?.close();
    using shm = withHints(() => new SharedMemory(name, { create: true, exclusive, mode, size }), {
      exists: `an object of this name exists already; drop --exclusive, or remove it with \`ipc shm rm ${name}\``,
    });
    if (oldSize !== undefined && oldSize !== shm.size) note(`ipc shm create: ${name} existed already; resized from ${oldSize} to ${shm.size} bytes`);
    return EXIT.OK;
  },
};

const write: Verb = {
  name: "shm write",
  summary: "Write bytes into a shared-memory object at an offset. DATA - reads them from standard input.",
  usage: "shm write NAME (DATA | -) [--offset N] [--hex]",
  details: `DATA is written as its UTF-8 bytes, with no terminating NUL or newline. With -,
standard input is read to its end and written exactly, binary data included.
The object keeps its size: data that would run past its end is refused.

Options:
  --offset N   where to start, in bytes (default 0)
  --hex        DATA is hex digits ("de ad be ef"), not text`,
  options: { offset: { type: "string" }, hex: { type: "boolean" } },
  positionals: { names: ["NAME", "DATA"], min: 2 },
  async run(args: Parsed): Promise<number> {
    const name = nameArg(args.positionals[0]!, "shm_open");
    const text = args.positionals[1]!;
    const offsetText = option(args, "offset");
    const offset = offsetText === undefined ? 0 : integerArg(offsetText, "--offset", 0);
    const data = await dataArg(text, flag(args, "hex"));
    using shm = openShm(name, false);
    const size = shm.size;
    checkRange(name, size, offset, data.length, "writing");
    if (data.length === 0) return EXIT.OK;
    using map = shm.map();
    map.write(data, offset);
    return EXIT.OK;
  },
};

const read: Verb = {
  name: "shm read",
  summary: "Print bytes of a shared-memory object: all of it, or --length bytes from --offset.",
  usage: "shm read NAME [--offset N] [--length N] [--hex]",
  details: `The bytes go to standard output exactly (a terminal gets a final newline).

Options:
  --offset N   where to start (default 0)
  --length N   how many bytes (default: to the end of the object)
  --hex        a hex dump in the manner of \`hexdump -C\`: the offset in the
               object, 16 bytes in hex, the printable characters`,
  options: { offset: { type: "string" }, length: { type: "string" }, hex: { type: "boolean" } },
  positionals: { names: ["NAME"], min: 1 },
  run(args: Parsed): number {
    const name = nameArg(args.positionals[0]!, "shm_open");
    const offsetText = option(args, "offset");
    const lengthText = option(args, "length");
    const offset = offsetText === undefined ? 0 : integerArg(offsetText, "--offset", 0);
    const wantedLength = lengthText === undefined ? undefined : integerArg(lengthText, "--length", 0);
    using shm = openShm(name, true);
    const size = shm.size;
    if (offset > size) throw new Failure(`--offset ${offset} is past the end of ${name}, which has ${size} bytes`);
    const length = wantedLength ?? size - offset;
    checkRange(name, size, offset, length, "reading");
    let bytes: Uint8Array = new Uint8Array(0);
    if (length > 0) {
      using map = shm.map({ protection: "read" });
      bytes = map.read(offset, length);
    }
    if (flag(args, "hex")) out(hexDump(bytes, offset));
    else outBytes(bytes);
    return EXIT.OK;
  },
};

const rm = unlinkVerb("shm rm", "Remove a shared-memory object's name (shm_unlink); the memory goes when the last process unmaps it.", "shm_unlink", (name) =>
  SharedMemory.unlink(name),
);

/** The verbs of `ipc shm`. */
export const shmVerbs: Verb[] = [create, write, read, rm];
