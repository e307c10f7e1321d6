import type { Term } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import { Queue, StructStore } from '../src/index.js';
import { allRecords, makeRouter } from './helpers.js';

class User {
  id: number | string = 0;
  name = '';
  email: string | undefined = undefined;
  role = 'member';

  greet(): string {
    return `hi ${this.name}`;
  }
}

function user(fields: Partial<User>): User {
  return Object.assign(new User(), fields);
}

describe('StructStore', () => {
  const open = () => new StructStore(makeRouter(), User, 'id');

  it('returns an instance of the class with the stored fields and its methods', async () => {
    const users = open();
    await users.add(user({ id: 1, name: 'Alice', email: 'alice@example.com' }));
    const u = await users.get(1);
    expect(u).toBeInstanceOf(User);
    expect(u).toEqual(user({ id: 1, name: 'Alice', email: 'alice@example.com' }));
    expect(u?.greet()).toBe('hi Alice');
  });

  it('returns undefined for a missing key', async () => {
    expect(await open().get(42)).toBeUndefined();
  });

  it('replaces the instance with the same key', async () => {
    const users = open();
    await users.add(user({ id: 1, name: 'Alice' }));
    await users.add(user({ id: 1, name: 'Alicia' }));
    expect((await users.get(1))?.name).toBe('Alicia');
    expect(await users.count()).toBe(1);
  });

  it('stores a plain object of own fields under [s, className, key], leaving undefined fields out', async () => {
    const users = open();
    await users.add(user({ id: 7, name: 'Bob' }));
    const recs = allRecords(users.router);
    expect(recs).toEqual([[['s', 'User', 7], { id: 7, name: 'Bob', role: 'member' }]]);
    expect(Object.getPrototypeOf(recs[0]?.[1])).toBe(Object.prototype);
  });

  it('gives an undefined field the constructor value when rebuilt', async () => {
    const users = open();
    await users.add(user({ id: 1, role: undefined as unknown as string }));
    expect((await users.get(1))?.role).toBe('member');
  });

  it('getAll returns every instance of this store only', async () => {
    const router = makeRouter();
    const users = new StructStore(router, User, 'id');
    class Item {
      sku = '';
    }
    const items = new StructStore(router, Item, 'sku');
    await users.add(user({ id: 1, name: 'A' }));
    await users.add(user({ id: 2, name: 'B' }));
    await items.add(Object.assign(new Item(), { sku: 'x' }));
    const all = await users.getAll();
    expect(all.map((u) => u.name).sort()).toEqual(['A', 'B']);
    expect(all.every((u) => u instanceof User)).toBe(true);
    expect(await items.getAll()).toEqual([Object.assign(new Item(), { sku: 'x' })]);
  });

  it('remove deletes one instance and says whether it existed; removeAll clears only this store', async () => {
    const router = makeRouter();
    const users = new StructStore(router, User, 'id');
    const q = new Queue(router, 'User');
    await q.add('untouched');
    await users.add(user({ id: 1 }));
    await users.add(user({ id: 2 }));
    await users.add(user({ id: 3 }));
    expect(await users.remove(1)).toBe(true);
    expect(await users.remove(1)).toBe(false);
    expect(await users.removeAll()).toBe(2);
    expect(await users.getAll()).toEqual([]);
    expect(await q.count()).toBe(1);
  });

  it('shares no nested field with the caller: mutations after add or after get change nothing stored', async () => {
    class Tagged {
      id = 0;
      tags: string[] = [];
      meta: { n: number } = { n: 0 };
    }
    const store = new StructStore(makeRouter(), Tagged, 'id');
    const t = Object.assign(new Tagged(), { id: 1, tags: ['a'], meta: { n: 1 } });
    await store.add(t);
    t.tags.push('after-add');
    t.meta.n = 99;
    const got = await store.get(1);
    expect(got?.tags).toEqual(['a']);
    got?.tags.push('after-get');
    expect((await store.get(1))?.tags).toEqual(['a']);
    expect((await store.get(1))?.meta).toEqual({ n: 1 });
  });

  it('keys by any term, including composite keys', async () => {
    const users = open();
    await users.add(user({ id: 'u-1' }));
    expect(await users.get('u-1')).toBeInstanceOf(User);
    expect(await users.get(['no'])).toBeUndefined();
  });

  it('shares a store between two classes of the same name unless given a name option', async () => {
    const router = makeRouter();
    const A = (() => {
      return class User {
        id = 0;
        tag = 'a';
      };
    })();
    const B = (() => {
      return class User {
        id = 0;
        tag = 'b';
      };
    })();
    const a = new StructStore(router, A, 'id');
    const b = new StructStore(router, B, 'id');
    await a.add(Object.assign(new A(), { id: 1 }));
    expect(await b.get(1)).toMatchObject({ tag: 'a' });
    const separate = new StructStore(router, B, 'id', { name: 'OtherUser' });
    expect(await separate.get(1)).toBeUndefined();
    expect(separate.name).toBe('OtherUser');
  });

  it('keys by id when no key field is given, as the seed Struct.init(struct, key \\ :id)', async () => {
    const users = new StructStore(makeRouter(), User);
    expect(users.keyField).toBe('id');
    await users.add(user({ id: 7, name: 'Zed' }));
    expect((await users.get(7))?.name).toBe('Zed');
    const named = new StructStore(makeRouter(), User, { name: 'people' });
    expect([named.keyField, named.name]).toEqual(['id', 'people']);
  });

  describe('errors', () => {
    it('names the class and the field when the default key field id is missing', () => {
      class Product {
        sku = '';
      }
      const e = (() => {
        try {
          new StructStore(makeRouter(), Product as never);
        } catch (x) {
          return x as Error & { code?: string; details?: unknown };
        }
        return undefined;
      })();
      expect(e?.code).toBe('SC_ERR_BAD_STRUCT');
      expect(e?.message).toMatch(/Product has no field id/);
      expect(e?.details).toMatchObject({ class: 'Product', field: 'id' });
    });

    it('names the class and the field when an instance misses its key', async () => {
      const users = open();
      await expect(users.add(user({ id: undefined as unknown as number }))).rejects.toMatchObject({
        code: 'SC_ERR_BAD_STRUCT',
        message: expect.stringMatching(/^User\.id is missing/),
        details: { class: 'User', field: 'id' },
      });
    });

    it('refuses a key field that a fresh instance does not own with SC_ERR_BAD_STRUCT', () => {
      class NoInit {
        declare id: number;
      }
      expect(() => new StructStore(makeRouter(), NoInit, 'id')).toThrow(
        expect.objectContaining({ code: 'SC_ERR_BAD_STRUCT' }),
      );
      expect(() => new StructStore(makeRouter(), User, 'greet' as 'id')).toThrow(
        expect.objectContaining({ code: 'SC_ERR_BAD_STRUCT' }),
      );
    });

    it('refuses a class that cannot be constructed without arguments with SC_ERR_BAD_STRUCT', () => {
      class Needs {
        id: number;
        constructor(x: { id: number }) {
          this.id = x.id;
        }
      }
      expect(() => new StructStore(makeRouter(), Needs as unknown as new () => Needs, 'id')).toThrow(
        expect.objectContaining({ code: 'SC_ERR_BAD_STRUCT' }),
      );
    });

    it('refuses an anonymous class without a name option with SC_ERR_BAD_STRUCT', () => {
      const Anon = [
        class {
          id = 0;
        },
      ][0] as new () => { id: number };
      expect(Anon.name).toBe('');
      expect(() => new StructStore(makeRouter(), Anon, 'id')).toThrow(
        expect.objectContaining({ code: 'SC_ERR_BAD_STRUCT' }),
      );
      expect(new StructStore(makeRouter(), Anon, 'id', { name: 'anon' }).name).toBe('anon');
    });

    it('refuses an instance of another class, a subclass or a plain object with SC_ERR_BAD_STRUCT', async () => {
      const users = open();
      class Admin extends User {}
      class Other {
        id = 1;
      }
      for (const bad of [new Other(), Object.assign(new Admin(), { id: 1 }), { id: 1, name: 'x' }, null]) {
        await expect(users.add(bad as User)).rejects.toMatchObject({ code: 'SC_ERR_BAD_STRUCT' });
      }
      expect(await users.count()).toBe(0);
    });

    it('refuses an undefined or non-term key with SC_ERR_BAD_STRUCT', async () => {
      const users = open();
      await expect(users.add(user({ id: undefined as unknown as number }))).rejects.toMatchObject({
        code: 'SC_ERR_BAD_STRUCT',
      });
      await expect(users.get(new Map() as unknown as Term)).rejects.toMatchObject({
        code: 'SC_ERR_BAD_STRUCT',
      });
    });

    it('refuses a field that is not a term with SC_ERR_BAD_STRUCT naming the field', async () => {
      const users = open();
      const u = user({ id: 1 }) as User & { when?: unknown };
      u.when = new Date();
      await expect(users.add(u)).rejects.toMatchObject({
        code: 'SC_ERR_BAD_STRUCT',
        message: expect.stringMatching(/^User\.when is not a term/),
        details: { class: 'User', field: 'when' },
      });
      expect(await users.count()).toBe(0);
    });

    it('refuses a bag system table with SC_ERR_WRONG_TABLE_TYPE', () => {
      expect(() => new StructStore(makeRouter({ type: 'bag' }), User, 'id')).toThrow(
        expect.objectContaining({ code: 'SC_ERR_WRONG_TABLE_TYPE' }),
      );
    });
  });

  it('shares the system table with KeyValue-style records without seeing them', async () => {
    const router = makeRouter();
    const users = new StructStore(router, User, 'id');
    await router.insert([['s', 'Userish', 1], { id: 1 }]);
    await users.add(user({ id: 2 }));
    expect((await users.getAll()).map((u) => u.id)).toEqual([2]);
  });
});
