return { ("x"):upper() }
