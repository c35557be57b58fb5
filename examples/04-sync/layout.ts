/**
 * layout.ts — several synchronisation objects and data in one shared
 * memory object, with no offset computed by hand. layout() places the
 * fields in order, each at the next multiple of its alignment, as a C
 * compiler places the fields of a struct; it says where each went and how
 * big the whole is. init() sets the memory up once; attach() reaches it
 * from the other processes.
 *
 * Run:  bun run examples/04-sync/layout.ts
 */
import { layout, Mutex, Semaphore, SharedMemory } from "../../lib/index.ts";

// ANCHOR: describe
const Queue = layout({
  lock: Mutex,
  items: Semaphore.field({ value: 0 }),
  spaces: Semaphore.field({ value: 16 }),
  head: "u32",
  tail: "u32",
  flags: "u8",
  slots: ["f64", 16],
});
console.log(String(Queue));
// ANCHOR_END: describe

// The same memory as C sees it, field by field:
//   struct queue {
//     pthread_mutex_t lock;  sem_t items;  sem_t spaces;
//     uint32_t head;  uint32_t tail;  uint8_t flags;
//     double slots[16];             /* 7 bytes of padding before it */
//   };

const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-queue-${process.pid}`;
// ANCHOR: use
using shm = new SharedMemory(name, { exclusive: true, size: Queue.size });
try {
  using map = shm.map();
  const q = Queue.init(map); // zeroes the bytes, initialises the mutex and semaphores
  q.slots[q.head[0]!] = 3.5; // typed arrays over the fields
  q.head[0] = 1;
  q.items.post();
  const other = Queue.attach(map); // what another process would do
  console.log(`items ${other.items.value}, spaces ${other.spaces.value}, slot 0 holds ${other.slots[0]}`);
} finally {
  shm.unlink();
}
// ANCHOR_END: use
