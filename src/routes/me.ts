// The signed-in user's own account: read it, change it, delete it (src/accounts/update.ts decides
// what a change needs).
import { self } from "../accounts/authorize.ts";
import { changeAccount, readAccount, removeAccount } from "../accounts/handlers.ts";

export const getMe = readAccount(self);
export const updateMe = changeAccount(self);
export const deleteMe = removeAccount(self);
