/**
 * Shared memory and memory mapping.
 *
 * - `SharedMemory`: a POSIX shared-memory object (shm_open), a file in
 *   /dev/shm that lives until it is unlinked and no one has it open or
 *   mapped.
 * - `MappedFile`: a regular file mapped into memory (open + mmap), for
 *   updating records in place.
 * - `SysVSharedMemory`: the older System V segments (shmget, shmat), which
 *   `ipcs -m` lists and `ipcrm` removes.
 *
 *   using shm = new SharedMemory("/counter", { create: true, size: 4096 });
 *   using map = shm.map();
 *   Atomics.add(map.view(Int32Array), 0, 1);
 */
import fs from "node:fs";
import { ptr, type Pointer } from "bun:ffi";
import { IPC, layout, getField, MAP, O, PROT, SHM } from "./ffi/constants.ts";
import { cstr, mappedPointer, PAGE_SIZE, sys } from "./ffi/libc.ts";
import { closed, lastError, type Hints } from "./errors.ts";
import { Mapping } from "./mapping.ts";
import { count, fileMode, posixName } from "./validate.ts";

export { Mapping } from "./mapping.ts";

/** The protection of a mapping: `PROT_READ`, or `PROT_READ | PROT_WRITE`. */
export type Protection = "read" | "read-write";

/** How to open a shared-memory object or a file: the `O_*` flags, its size and its mode. */
export interface OpenOptions {
  /** Create the object if it does not exist. */
  create?: boolean;
  /** Fail with ExistsError if it exists (implies `create`). */
  exclusive?: boolean;
  /** Set the size in bytes (ftruncate) after opening. A new object has size 0. */
  size?: number;
  /** Permission bits for a new object; default 0o600 (owner only). */
  mode?: number;
  /** Open for reading only; mappings are then read-only too. */
  readOnly?: boolean;
}

/** Which part of the object to map, and how (the arguments of mmap). */
export interface MapOptions {
  /** Where in the object to start; a multiple of the page size. Default 0. */
  offset?: number;
  /** Bytes to map; default from `offset` to the end of the object. */
  length?: number;
  /** Default: "read-write" unless the object was opened read-only. */
  protection?: Protection;
  /** A private copy-on-write mapping: writes stay in this process. */
  private?: boolean;
}

/** What fstat(2) says about an object. */
export interface ObjectStat {
  size: number;
  /** Permission bits, such as 0o600. */
  mode: number;
  uid: number;
  gid: number;
}

const OPEN_HINTS: Hints = {
  EEXIST: "an object of this name exists already; open it without `exclusive`, or remove it first",
  ENOENT: "there is no object of this name; pass `create: true` to create it",
  EACCES: "the object exists but its mode does not let your user open it this way; check `ls -l`",
  EINVAL: "the name is not a valid object name",
};

const MMAP_HINTS: Hints = {
  EACCES: "the descriptor's access mode does not allow this protection (a read-only object mapped for writing?)",
  EINVAL: "length or offset is invalid (offset must be a multiple of the page size, length above 0)",
  ENOMEM: "no room in the address space for this mapping, or the mapping limit is reached",
  ENODEV: "this file cannot be memory-mapped",
};

/**
 * Memory reachable through a file descriptor: the common part of a POSIX
 * shared-memory object and a mapped regular file.
 */
abstract class MemoryObject implements Disposable {
  readonly readOnly: boolean;
  #fd: number;

  protected constructor(
    /** The object's name or path, for messages. */
    readonly name: string,
    fd: number,
    readOnly: boolean,
  ) {
    this.#fd = fd;
    this.readOnly = readOnly;
  }

  /** The file descriptor; throws once closed. */
  get fd(): number {
    if (this.#fd === -1) throw closed("fd", this.name);
    return this.#fd;
  }

  /** true once `close()` has been called. */
  get closed(): boolean {
    return this.#fd === -1;
  }

  /** Size, mode and owner, from fstat(2). */
  stat(): ObjectStat {
    const buffer = new ArrayBuffer(layout.stat.size);
    if (sys.fstat(this.fd, ptr(buffer)) === -1) throw lastError("fstat", this.name);
    const view = new DataView(buffer);
    const f = layout.stat.fields;
    return {
      size: getField(view, f.st_size),
      mode: getField(view, f.st_mode) & 0o7777,
      uid: getField(view, f.st_uid),
      gid: getField(view, f.st_gid),
    };
  }

  /** The current size in bytes. */
  get size(): number {
    return this.stat().size;
  }

  /**
   * Sets the size (ftruncate). New bytes read as zero. Shrinking under a
   * mapping that someone still touches makes that access fail with SIGBUS.
   */
  resize(size: number): void {
    count(size, `ftruncate: size of ${this.name}`, this.maxSize());
    if (this.readOnly) throw new TypeError(`ftruncate: ${this.name} was opened read-only; it cannot be resized`);
    if (sys.ftruncate(this.fd, size) === -1) throw lastError("ftruncate", this.name);
  }

  /**
   * Maps all or part of the object. A mapping stays valid after `close()`;
   * unmap it (or let `using` do it) when done.
   */
  map(options: MapOptions = {}): Mapping {
    const size = this.size;
    const offset = count(options.offset ?? 0, `mmap: offset into ${this.name}`);
    if (offset % PAGE_SIZE !== 0) {
      throw new RangeError(`mmap: offset ${offset} is not a multiple of the page size (${PAGE_SIZE})`);
    }
    if (offset >= size) {
      throw new RangeError(
        size === 0
          ? `mmap: ${this.name} has size 0; give it a size (resize() or the size option) before mapping`
          : `mmap: offset ${offset} is at or past the end of ${this.name} (${size} bytes)`,
      );
    }
    const length = count(options.length ?? size - offset, `mmap: length`, Number.MAX_SAFE_INTEGER, 1);
    if (offset + length > size) {
      // Touching a mapped page past the end of the object raises SIGBUS.
      throw new RangeError(
        `mmap: ${length} bytes at offset ${offset} run past the end of ${this.name} (${size} bytes); resize() it first`,
      );
    }
    const protection = options.protection ?? (this.readOnly ? "read" : "read-write");
    if (protection === "read-write" && this.readOnly && !options.private) {
      throw new TypeError(`mmap: ${this.name} was opened read-only; map it with protection "read" or open it read-write`);
    }
    const prot = protection === "read-write" ? PROT.READ | PROT.WRITE : PROT.READ;
    const flags = options.private ? MAP.PRIVATE : MAP.SHARED;
    const pointer = mappedPointer(sys.mmap(null, length, prot, flags, this.fd, offset));
    if (pointer === null) throw lastError("mmap", this.name, MMAP_HINTS);
    return new Mapping({
      pointer,
      length,
      offset,
      writable: prot !== PROT.READ,
      shared: !options.private,
      label: this.name,
      release: { call: "munmap", fn: (p, n) => sys.munmap(p, n) },
      syncable: true,
    });
  }

  /**
   * Closes the descriptor. The object itself stays (see `unlink`), and so
   * do mappings made from it. Idempotent.
   */
  close(): void {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    if (sys.close(fd) === -1) throw lastError("close", this.name);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The constructors' `size` option: resize, or close and rethrow on failure. */
  protected applySize(size: number | undefined): void {
    if (size === undefined) return;
    try {
      this.resize(size);
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** The largest size this kind of object can take; sizes past it are refused. */
  protected abstract maxSize(): number;
}

/** open flags from the options shared by both kinds of object. */
function openFlags(options: OpenOptions): number {
  let flags = options.readOnly ? O.RDONLY : O.RDWR;
  if (options.create || options.exclusive) flags |= O.CREAT;
  if (options.exclusive) flags |= O.EXCL;
  return flags | O.CLOEXEC;
}

/** Capacity of the file system holding `path`, in bytes. */
function capacity(path: string): number {
  const stats = fs.statfsSync(path);
  return stats.blocks * stats.bsize;
}

function checkOpenOptions(call: string, options: OpenOptions, maxSize: number): void {
  fileMode(options.mode ?? 0o600, call);
  if (options.size !== undefined) {
    count(options.size, `${call}: size`, maxSize);
    if (options.readOnly) throw new TypeError(`${call}: a size cannot be set on an object opened read-only`);
  }
}

/** A POSIX shared-memory object (/dev/shm/NAME). */
export class SharedMemory extends MemoryObject {
  /**
   * Opens the object `name` ("/counter"), creating it with `create: true`.
   * With `size` it is then truncated or extended to that many bytes.
   */
  constructor(name: string, options: OpenOptions = {}) {
    posixName(name, "shm_open");
    checkOpenOptions("shm_open", options, shmCapacity());
    const fd = sys.shm_open(cstr(name), openFlags(options), options.mode ?? 0o600);
    if (fd === -1) throw lastError("shm_open", name, OPEN_HINTS);
    super(name, fd, options.readOnly ?? false);
    this.applySize(options.size);
  }

  /** Removes the name; the memory goes once the last descriptor and mapping are gone. */
  unlink(): void {
    SharedMemory.unlink(this.name);
  }

  /** Removes the object `name`. */
  static unlink(name: string): void {
    posixName(name, "shm_unlink");
    if (sys.shm_unlink(cstr(name)) === -1) {
      throw lastError("shm_unlink", name, { ENOENT: "there is no object of this name (removed already?)" });
    }
  }

  /** Whether an object of this name exists (it shows up in /dev/shm). */
  static exists(name: string): boolean {
    posixName(name, "shm_open");
    return fs.existsSync(`/dev/shm${name}`);
  }

  protected maxSize(): number {
    return shmCapacity();
  }
}

/** /dev/shm is a tmpfs: pages past its size cannot be backed and fault with SIGBUS. */
function shmCapacity(): number {
  return capacity("/dev/shm");
}

/** A regular file mapped into memory. */
export class MappedFile extends MemoryObject {
  /**
   * Opens the file at `path` (open(2)), creating it with `create: true`;
   * with `size` it is then truncated or extended to that many bytes.
   */
  constructor(path: string, options: OpenOptions = {}) {
    if (typeof path !== "string" || path.length === 0) throw new TypeError("open: the path must be a non-empty string");
    checkOpenOptions("open", options, Number.MAX_SAFE_INTEGER);
    const fd = sys.open(cstr(path), openFlags(options), options.mode ?? 0o600);
    if (fd === -1) throw lastError("open", path, OPEN_HINTS);
    super(path, fd, options.readOnly ?? false);
    this.applySize(options.size);
  }

  /** Removes the file's name. */
  unlink(): void {
    if (sys.unlink(cstr(this.name)) === -1) throw lastError("unlink", this.name);
  }

  protected maxSize(): number {
    return Number.MAX_SAFE_INTEGER;
  }
}

/** What IPC_STAT says about a System V segment. */
export interface SegmentStat {
  size: number;
  /** Processes that have it attached now (shm_nattch). */
  attachments: number;
  mode: number;
  uid: number;
  creatorPid: number;
  lastPid: number;
}

const SHMGET_HINTS: Hints = {
  EEXIST: "a segment with this key exists already; drop `exclusive`, or remove it (`ipcrm -M KEY`)",
  ENOENT: "no segment has this key; pass `create: true`",
  EINVAL: "the size is outside SHMMIN..SHMMAX (/proc/sys/kernel/shmmax), or larger than the existing segment's",
  ENOSPC: "the system-wide segment limit is reached (/proc/sys/kernel/shmmni, shmall); `ipcs -m` lists leftovers",
};

/** A System V shared-memory segment, named by a numeric key. */
export class SysVSharedMemory {
  /** The segment identifier that `ipcs -m` shows. */
  readonly id: number;
  readonly key: number;

  /**
   * Gets the segment with `key` (a number, often from `SysVSharedMemory.key()`),
   * or a new private one with key "private".
   */
  constructor(key: number | "private", options: Omit<OpenOptions, "readOnly"> = {}) {
    const numericKey = key === "private" ? IPC.PRIVATE : key;
    if (!Number.isInteger(numericKey)) throw new TypeError(`shmget: the key must be an integer or "private"`);
    // shmget reads the bits above 0o777 as IPC_CREAT, IPC_EXCL and SHM_HUGETLB.
    let flags = fileMode(options.mode ?? 0o600, "shmget", 0o777);
    if (options.create || options.exclusive || key === "private") flags |= IPC.CREAT;
    if (options.exclusive) flags |= IPC.EXCL;
    const size = options.size === undefined ? 0 : count(options.size, "shmget: size", Number.MAX_SAFE_INTEGER);
    const id = sys.shmget(numericKey | 0, size, flags);
    if (id === -1) throw lastError("shmget", `key ${numericKey}`, SHMGET_HINTS);
    this.id = id;
    this.key = numericKey;
  }

  /** A key derived from an existing file and a project byte (ftok). */
  static key(path: string, projectId: number): number {
    count(projectId, "ftok: projectId", 255, 1);
    const key = sys.ftok(cstr(path), projectId);
    if (key === -1) throw lastError("ftok", path, { ENOENT: "ftok needs a file that exists" });
    return key;
  }

  /** Attaches the segment into this process (shmat). */
  attach({ readOnly = false }: { readOnly?: boolean } = {}): Mapping {
    const { size } = this.stat();
    const pointer = mappedPointer(sys.shmat(this.id, null, readOnly ? SHM.RDONLY : 0));
    if (pointer === null) throw lastError("shmat", this.label);
    return new Mapping({
      pointer,
      length: size,
      offset: 0,
      writable: !readOnly,
      shared: true,
      label: this.label,
      release: { call: "shmdt", fn: (p: Pointer) => sys.shmdt(p) },
      syncable: false,
    });
  }

  /** Size, attachments, owner and the last processes to touch it (IPC_STAT). */
  stat(): SegmentStat {
    const buffer = new ArrayBuffer(layout.shmid_ds.size);
    if (sys.shmctl(this.id, IPC.STAT, ptr(buffer)) === -1) throw lastError("shmctl(IPC_STAT)", this.label);
    const view = new DataView(buffer);
    const f = layout.shmid_ds.fields;
    return {
      size: getField(view, f.shm_segsz),
      attachments: getField(view, f.shm_nattch),
      mode: getField(view, f["shm_perm.mode"]) & 0o777,
      uid: getField(view, f["shm_perm.uid"]),
      creatorPid: getField(view, f.shm_cpid),
      lastPid: getField(view, f.shm_lpid),
    };
  }

  /**
   * Marks the segment for removal (IPC_RMID): it goes when the last process
   * detaches. Until then no new process can attach it by key.
   */
  remove(): void {
    SysVSharedMemory.remove(this.id);
  }

  /** Removes the segment with this id, like `ipcrm -m ID`. */
  static remove(id: number): void {
    if (sys.shmctl(id, IPC.RMID, null) === -1) throw lastError("shmctl(IPC_RMID)", `segment ${id}`);
  }

  private get label(): string {
    return `System V segment ${this.id}`;
  }
}
