import { registerSeeds } from "../_harness/lossy.ts";

registerSeeds(0, 25);
