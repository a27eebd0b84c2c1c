// fast-check, configured before any arbitrary is built: without "max" it keeps
// arrays to about ten elements whatever maxLength says, and arbitraries fix
// their sizes when constructed, so every fuzz module imports fc from here.
import fc from "fast-check";

fc.configureGlobal({ baseSize: "max" });

export default fc;
