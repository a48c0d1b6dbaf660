"""The data plane of the sans-IO core: IP, ESP, AH, replay, SPD/SAD, the stack, overhead."""
