import { createContext, useContext } from 'react';
import type { Identity } from './api';

/** The signed-in token's identity, for pages that show actions by role. */
export const IdentityContext = createContext<Identity | undefined>(undefined);

/** The signed-in identity (undefined outside a session). */
export function useIdentity(): Identity | undefined {
  return useContext(IdentityContext);
}
