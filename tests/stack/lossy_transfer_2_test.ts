import { registerSeeds } from "../_harness/lossy.ts";

registerSeeds(50, 75);
