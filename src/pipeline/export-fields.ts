import type { ExportField } from '../auth0/types.js';

/**
 * The fields every users-export job asks for: all that the transform carries into an import
 * file, plus what it needs to decide (identities for the connection, timestamps for the report).
 * Keys in the file are these names (no `export_as`), so the transform reads them directly.
 * Auth0's default field set is undocumented, so the list is always sent explicitly.
 */
export const EXPORT_FIELDS: readonly ExportField[] = [
  'user_id',
  'email',
  'email_verified',
  'username',
  'phone_number',
  'phone_verified',
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'blocked',
  'identities',
  'app_metadata',
  'user_metadata',
  'created_at',
  'updated_at',
  'last_login',
  'logins_count',
  'multifactor',
].map((name) => ({ name }));
