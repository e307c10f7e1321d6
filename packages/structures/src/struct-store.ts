/**
 * StructStore: instances of one class, stored by the value of a key field
 * on the system table as `[['s', store, keyValue], fields]`, where `fields`
 * is a plain object of the instance's own enumerable fields.
 */

import type { TableRouter } from '@supercache/router';
import { _, $, isTerm, type MatchSpec, SuperCacheError, type Term, type Tuple } from '@supercache/storage';
import { checkRouter } from './internal.js';
import { STRUCT_TAG, structKey } from './layout.js';
import { checkRead, checkWrite, type StructureReadOptions, type StructureWriteOptions } from './options.js';

/** The key field when none is given, as the seed's `Struct.init(struct, key \\ :id)`. */
export const DEFAULT_KEY_FIELD = 'id';

/** A class whose instances a {@link StructStore} holds: constructible with no arguments. */
export type StructClass<T extends object> = new () => T;

/** Options of a {@link StructStore}. */
export interface StructStoreOptions {
  /**
   * Name of the store. Two stores with the same name share their records,
   * so give distinct names to distinct classes that share a `Class.name`
   * (two `User` classes from different modules, or minified names).
   * @defaultValue `Class.name`
   */
  name?: string;
}

function badStruct(message: string, details?: Record<string, unknown>, cause?: unknown): SuperCacheError {
  return new SuperCacheError('SC_ERR_BAD_STRUCT', message, {
    ...(details === undefined ? {} : { details }),
    ...(cause === undefined ? {} : { cause }),
  });
}

// Tables keep references: without a copy, mutating a nested field of an
// instance (before or after `add`, or of one returned by `get`) would change
// the stored struct in one process but not across the wire in a cluster.
function detach(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? structuredClone(v) : v;
}

function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  // Plain assignment of '__proto__' would change the prototype instead.
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    out[key] = value;
  }
}

/**
 * A store of class instances keyed by one field (the seed's `Struct`).
 * Constructing the store is the seed's `init`: there is no separate
 * initialisation step, so a store can never be used before it is set up.
 *
 * An instance is stored as a plain object of its own enumerable fields
 * whose values are not `undefined`; `get` rebuilds it with `new Class()`
 * and assigns the stored fields over the constructor's values. Methods and
 * getters live on the prototype and come back with it; fields that were
 * `undefined` get whatever the constructor gives them. Nested arrays and
 * objects are copied on the way in and out, so mutating an instance never
 * changes the stored struct behind `add`'s back (in one process as across
 * the wire).
 *
 * @typeParam T - the instance type.
 *
 * @example
 * ```ts
 * class User { id = 0; name = ''; email = '' }
 * const users = new StructStore(systemRouter, User); // keyed by `id`
 * await users.add(Object.assign(new User(), { id: 1, name: 'Alice' }));
 * (await users.get(1))?.name; // 'Alice'
 * ```
 */
export class StructStore<T extends object> {
  /** The routed system table. */
  readonly router: TableRouter;
  /** The class of the stored instances. */
  readonly Class: StructClass<T>;
  /** The field whose value keys an instance. */
  readonly keyField: string;
  /** The store's name (records are keyed `['s', name, keyValue]`). */
  readonly name: string;
  readonly #getAllSpec: MatchSpec;
  readonly #allSpec: MatchSpec;

  /**
   * Creates (initialises) a store.
   * @param router - a router over a `set` or `ordered_set` table with keyPos
   *   0 whose registry has the structures' commands.
   * @param Class - the class; `new Class()` must work without arguments.
   * @param keyField - a field that a fresh `new Class()` has as an own
   *   property (declare it with an initialiser, e.g. `id = 0`).
   *   @defaultValue `'id'`, as the seed's `Struct.init(struct, key \\ :id)`
   * @param options - may also be passed third, without a `keyField`.
   * @throws SuperCacheError `SC_ERR_BAD_STRUCT` when `Class` is not a class
   *   constructible without arguments, when `keyField` is not an own
   *   property of `new Class()`, or when the store has no name (an anonymous
   *   class and no `options.name`); `SC_ERR_WRONG_TABLE_TYPE` for a bag
   *   table; `SC_ERR_BAD_CONFIG` for a router keyed elsewhere than position
   *   0 or without the commands.
   */
  constructor(
    router: TableRouter,
    Class: StructClass<T>,
    keyField?: Extract<keyof T, string> | StructStoreOptions,
    options: StructStoreOptions = {},
  ) {
    if (typeof keyField === 'object' && keyField !== null) {
      options = keyField;
      keyField = undefined;
    }
    const field = (keyField ?? DEFAULT_KEY_FIELD) as Extract<keyof T, string>;
    checkRouter(router, 'StructStore', 'struct.put', true);
    if (typeof Class !== 'function') throw badStruct('StructStore needs a class');
    let fresh: T;
    try {
      fresh = new Class();
    } catch (e) {
      throw badStruct(
        `new ${Class.name || 'Class'}() failed: a struct class must construct without arguments`,
        {},
        e,
      );
    }
    const className = Class.name || 'Class';
    if (typeof field !== 'string' || !Object.hasOwn(fresh, field)) {
      const which = keyField === undefined ? ` (the default key field)` : '';
      throw badStruct(
        `${className} has no field ${String(field)}${which}: new ${className}() must have it as an own ` +
          `field (give it an initialiser, e.g. ${String(field)} = 0), or pass the key field`,
        { class: className, field: String(field), keyField: String(field) },
      );
    }
    const name = options.name ?? Class.name;
    if (typeof name !== 'string' || name === '') {
      throw badStruct('a StructStore of an anonymous class needs options.name');
    }
    this.router = router;
    this.Class = Class;
    this.keyField = field;
    this.name = name;
    this.#getAllSpec = [[[[STRUCT_TAG, name, _], $(1)], [], [$(1)]]];
    this.#allSpec = [[[[STRUCT_TAG, name, _], _], [], [true]]];
  }

  #key(keyValue: unknown, inInstance: boolean): Tuple {
    if (keyValue === undefined || !isTerm(keyValue)) {
      const c = this.#className();
      const f = this.keyField;
      const message = inInstance
        ? `${c}.${f} is ${keyValue === undefined ? 'missing' : 'not a term'}: the key field ${f} of a ${c} must be a term, got ${describe(keyValue)}`
        : `the key of a ${c} (its field ${f}) must be a term, got ${describe(keyValue)}`;
      throw badStruct(message, { class: c, field: f, keyField: f });
    }
    return structKey(this.name, keyValue);
  }

  #className(): string {
    return this.Class.name || this.name;
  }

  #exec(
    key: Tuple,
    command: string,
    args: readonly unknown[],
    options: StructureReadOptions | StructureWriteOptions | undefined,
  ) {
    return this.router.backend.exec(key, command, args, options);
  }

  /**
   * Stores an instance, replacing the one with the same key.
   * @throws SuperCacheError `SC_ERR_BAD_STRUCT` when `instance` is not an
   *   instance of exactly `Class` (a subclass would come back as `Class`),
   *   when its key field is `undefined` or not a term, or when another field
   *   is not a term (`details.field` names it).
   */
  async add(instance: T, options?: StructureWriteOptions): Promise<void> {
    checkWrite('StructStore.add', options);
    if (
      typeof instance !== 'object' ||
      instance === null ||
      Object.getPrototypeOf(instance) !== this.Class.prototype
    ) {
      throw badStruct(`expected an instance of ${this.Class.name || this.name}, got ${describe(instance)}`);
    }
    const key = this.#key((instance as Record<string, unknown>)[this.keyField], true);
    const fields: Record<string, unknown> = {};
    for (const f of Object.keys(instance)) {
      const v = (instance as Record<string, unknown>)[f];
      if (v === undefined) continue;
      if (!isTerm(v)) {
        throw badStruct(`${this.#className()}.${f} is not a term: ${describe(v)}`, {
          class: this.#className(),
          field: f,
        });
      }
      setOwn(fields, f, detach(v));
    }
    await this.#exec(key, 'struct.put', [key, fields], options);
  }

  #rebuild(fields: Record<string, unknown>): T {
    const obj = new this.Class();
    for (const f of Object.keys(fields)) setOwn(obj as Record<string, unknown>, f, detach(fields[f]));
    return obj;
  }

  /**
   * The instance whose key field equals `keyValue`, rebuilt as a `Class`,
   * or `undefined`.
   * @throws SuperCacheError `SC_ERR_BAD_STRUCT` when `keyValue` is not a term.
   */
  async get(keyValue: Term, options?: StructureReadOptions): Promise<T | undefined> {
    checkRead('StructStore.get', options);
    const key = this.#key(keyValue, false);
    const r = (await this.#exec(key, 'struct.get', [key], options)) as Array<Record<string, unknown>>;
    const fields = r[0];
    return fields === undefined ? undefined : this.#rebuild(fields);
  }

  /** Every stored instance (in no particular order unless the table is an ordered_set). */
  async getAll(options?: StructureReadOptions): Promise<T[]> {
    checkRead('StructStore.getAll', options);
    const all = (await this.router.select(this.#getAllSpec, options)) as Array<Record<string, unknown>>;
    return all.map((f) => this.#rebuild(f));
  }

  /**
   * Deletes the instance with that key; resolves with true when there was one.
   * @throws SuperCacheError `SC_ERR_BAD_STRUCT` when `keyValue` is not a term.
   */
  async remove(keyValue: Term, options?: StructureWriteOptions): Promise<boolean> {
    checkWrite('StructStore.remove', options);
    const key = this.#key(keyValue, false);
    return (await this.#exec(key, 'struct.remove', [key], options)) as boolean;
  }

  /** Deletes every instance of this store; resolves with how many. */
  async removeAll(options?: StructureWriteOptions): Promise<number> {
    checkWrite('StructStore.removeAll', options);
    return this.router.selectDelete(this.#allSpec, options);
  }

  /** Number of stored instances. */
  async count(options?: StructureReadOptions): Promise<number> {
    checkRead('StructStore.count', options);
    return this.router.selectCount(this.#allSpec, options);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') {
    const c = (v as { constructor?: { name?: unknown } }).constructor?.name;
    return Array.isArray(v)
      ? 'an array'
      : `an instance of ${typeof c === 'string' && c !== '' ? c : 'an unknown class'}`;
  }
  return `${typeof v} ${String(v)}`;
}
