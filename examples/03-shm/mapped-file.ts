/**
 * mapped-file.ts — update fixed-size records of a regular file in place
 * through a memory mapping: no read(), no lseek(), no write(). msync()
 * then forces the changed page out to the file, and plain fs reads it back.
 *
 * Run:  bun run examples/03-shm/mapped-file.ts
 *
 * The file is an inventory of 32-byte records, little-endian:
 *    0  u32      sku
 *    4  i32      stock
 *    8  u8[24]   name, UTF-8, NUL-padded
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MappedFile } from "../../lib/index.ts";

const RECORD = 32, SKU = 0, STOCK = 4, NAME = 8, NAME_SIZE = 24;

/** Builds the file the ordinary way, with a Buffer and one write. */
function createInventory(file: string, items: [number, number, string][]): void {
  const data = Buffer.alloc(items.length * RECORD);
  items.forEach(([sku, stock, name], i) => {
    data.writeUInt32LE(sku, i * RECORD + SKU);
    data.writeInt32LE(stock, i * RECORD + STOCK);
    data.write(name, i * RECORD + NAME, NAME_SIZE, "utf8");
  });
  fs.writeFileSync(file, data);
}

/** Reads the file back with plain fs: no mapping involved. */
function printInventory(file: string): void {
  const data = fs.readFileSync(file);
  for (let at = 0; at < data.length; at += RECORD) {
    const name = data.subarray(at + NAME, at + NAME + NAME_SIZE).toString("utf8").replace(/\0+$/, "");
    console.log(`  ${data.readUInt32LE(at + SKU)}  ${String(data.readInt32LE(at + STOCK)).padStart(4)}  ${name}`);
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${process.env.IPC_PREFIX ?? "ipcbook"}-`));
try {
  const file = path.join(dir, "inventory.dat");
  createInventory(file, [
    [1001, 40, "bolts M6"],
    [1002, 12, "nuts M6"],
    [1003, 7, "washers"],
  ]);
  console.log("before:");
  printInventory(file);

  // ANCHOR: update
  using inventory = new MappedFile(file); // open(file, O_RDWR)
  using map = inventory.map(); // MAP_SHARED over the whole file
  const view = new DataView(map.buffer);
  const records = map.length / RECORD;

  for (let i = 0; i < records; i++) {
    const at = i * RECORD; // record i starts at i × 32: no searching, no parsing
    if (view.getUint32(at + SKU, true) === 1002) {
      view.setInt32(at + STOCK, view.getInt32(at + STOCK, true) - 3, true); // sell three
    }
  }
  map.sync(); // msync(MS_SYNC): the dirty page is written to the file before this returns
  // ANCHOR_END: update

  console.log("after (read back with fs.readFileSync):");
  printInventory(file);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
