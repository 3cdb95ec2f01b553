import assert from 'node:assert/strict';
import { createPool, SESSION_OPTIONS } from '../../../functions/store/pool.js';
import { ADMIN_URL } from '../../helpers/db.js';

describe("the functions' database pool (real PostgreSQL)", () => {
  it('starts every session with JIT compilation off, on fresh and reused connections alike', async () => {
    const { pool, close } = await createPool({ kind: 'url', url: ADMIN_URL, poolMax: 2 });
    try {
      assert.equal(SESSION_OPTIONS, '-c jit=off');
      const clients = await Promise.all([pool.connect(), pool.connect()]);
      try {
        for (const c of clients) assert.equal((await c.query<{ jit: string }>('show jit')).rows[0]!.jit, 'off');
      } finally {
        for (const c of clients) c.release();
      }
      assert.equal((await pool.query<{ jit: string }>('show jit')).rows[0]!.jit, 'off');
      // The server's own default is untouched: only our sessions opt out.
      const server = await pool.query<{ boot: string }>("select boot_val as boot from pg_settings where name = 'jit'");
      assert.equal(server.rows[0]!.boot, 'on');
    } finally {
      await close();
    }
  });
});
