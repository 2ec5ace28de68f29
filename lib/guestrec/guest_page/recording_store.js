// Where the guest's own recording is kept until the studio has it: IndexedDB in this
// browser, so a lost network or a reloaded page loses nothing that was recorded.
// Used by guest_recorder.js. Nothing runs at import.

const DB_NAME = "guestrec-recordings";
let db = null;

// -- IndexedDB: uploads {id, url, key, mimeType, recorded, acked, stopped, ...}
//    and chunks {id, offset, size, data: Blob} keyed [id, offset].
function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error || new Error("storage transaction failed"));
  });
}
export async function openDb() {
  if (db) return db;
  const req = indexedDB.open(DB_NAME, 1);
  req.onupgradeneeded = () => {
    req.result.createObjectStore("uploads", { keyPath: "id" });
    req.result.createObjectStore("chunks", { keyPath: ["id", "offset"] });
  };
  db = await request(req);
  return db;
}
function durable(upload) {
  // What storage holds: a recording counts only the bytes whose slices are stored.
  return Object.assign({}, upload, { recorded: upload.stored });
}
export async function saveUpload(upload) {
  const tx = (await openDb()).transaction("uploads", "readwrite");
  tx.objectStore("uploads").put(durable(upload));
  await done(tx);
}
export async function allUploads() {
  const tx = (await openDb()).transaction("uploads", "readonly");
  return request(tx.objectStore("uploads").getAll());
}
export async function storeChunk(upload, offset, blob) {
  // The slice and the new recorded size in one transaction: after a crash they agree.
  const tx = (await openDb()).transaction(["chunks", "uploads"], "readwrite");
  tx.objectStore("chunks").put({ id: upload.id, offset: offset, size: blob.size, data: blob });
  tx.objectStore("uploads").put(Object.assign(durable(upload), { recorded: offset + blob.size }));
  await done(tx);
  upload.stored = offset + blob.size;
}
export async function chunkAt(id, offset) {
  // The stored slice that holds byte `offset` (the last one starting at or before it).
  const tx = (await openDb()).transaction("chunks", "readonly");
  const range = IDBKeyRange.bound([id, 0], [id, offset]);
  const cursor = await request(tx.objectStore("chunks").openCursor(range, "prev"));
  return cursor ? cursor.value : null;
}
export async function dropChunks(id, below) {
  // Every slice that ends at or before `below` bytes: the studio holds them now.
  const tx = (await openDb()).transaction("chunks", "readwrite");
  const store = tx.objectStore("chunks");
  const range = IDBKeyRange.bound([id, 0], [id, below]);
  await new Promise((resolve, reject) => {
    const req = store.openCursor(range);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const cursor = req.result;
      if (!cursor) return resolve();
      if (cursor.value.offset + cursor.value.size <= below) cursor.delete();
      cursor.continue();
    };
  });
  await done(tx);
}
export async function forget(upload) {
  await dropChunks(upload.id, Number.MAX_SAFE_INTEGER);
  const tx = (await openDb()).transaction("uploads", "readwrite");
  tx.objectStore("uploads").delete(upload.id);
  await done(tx);
}

